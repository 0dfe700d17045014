-- The expiry job goes batch by batch (a batch's vouchers share its validity) instead of through an
-- index whose predicate named `state`: with it every state change, a redemption above all, was an
-- update into all of the table's indexes; without it the change can stay on its page (HOT).
DROP INDEX "vouchers"."vouchers_expiry_idx";--> statement-breakpoint
ALTER TABLE "vouchers"."voucher_batches" ADD COLUMN "expired_at" timestamp with time zone;