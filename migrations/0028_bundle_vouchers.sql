ALTER TABLE "vouchers"."voucher_batches" DROP CONSTRAINT "voucher_batches_value_check";--> statement-breakpoint
ALTER TABLE "vouchers"."voucher_batches" ALTER COLUMN "face_value" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "vouchers"."voucher_batches" ALTER COLUMN "currency" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "vouchers"."voucher_batches" ADD COLUMN "add_on_id" uuid;--> statement-breakpoint
ALTER TABLE "vouchers"."voucher_batches" ADD CONSTRAINT "voucher_batches_value_check" CHECK (("vouchers"."voucher_batches"."face_value" > 0 and "vouchers"."voucher_batches"."currency" ~ '^[A-Z]{3}$' and "vouchers"."voucher_batches"."add_on_id" is null)
    or ("vouchers"."voucher_batches"."add_on_id" is not null and "vouchers"."voucher_batches"."face_value" is null and "vouchers"."voucher_batches"."currency" is null));