ALTER TABLE "billing"."credit_notes" ALTER COLUMN "subtotal" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "billing"."credit_notes" ALTER COLUMN "tax" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "billing"."credit_notes" ALTER COLUMN "total" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "billing"."invoice_lines" ALTER COLUMN "amount" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "billing"."invoices" ALTER COLUMN "subtotal" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "billing"."invoices" ALTER COLUMN "tax" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "billing"."invoices" ALTER COLUMN "total" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "billing"."invoices" ALTER COLUMN "paid" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "billing"."invoices" ALTER COLUMN "credited" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "billing"."payment_allocations" ALTER COLUMN "amount" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "billing"."payments" ALTER COLUMN "amount" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "billing"."payments" ALTER COLUMN "applied" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "orders"."charge_lines" ALTER COLUMN "amount" SET DATA TYPE bigint;--> statement-breakpoint
CREATE INDEX "usage_record_ids_received_idx" ON "billing"."usage_record_ids" USING brin ("received_at");