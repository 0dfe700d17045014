ALTER TABLE "orders"."line_add_ons" ADD COLUMN "fee_amount" bigint;--> statement-breakpoint
ALTER TABLE "orders"."lines" ADD COLUMN "cycle_fee" bigint;