ALTER TABLE "orders"."line_add_ons" ADD COLUMN "fee_steps" jsonb;--> statement-breakpoint
ALTER TABLE "orders"."lines" ADD COLUMN "fee_steps" jsonb;--> statement-breakpoint
ALTER TABLE "orders"."lines" ADD COLUMN "usage_shares" jsonb;