CREATE TABLE "billing"."invoice_counters" (
	"year" integer PRIMARY KEY NOT NULL,
	"last" integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE "billing"."invoice_lines" (
	"id" uuid PRIMARY KEY NOT NULL,
	"invoice_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"description" text NOT NULL,
	"amount" integer NOT NULL,
	"ref" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "billing"."invoices" (
	"id" uuid PRIMARY KEY NOT NULL,
	"number" text NOT NULL,
	"billing_account_id" uuid NOT NULL,
	"customer_id" uuid NOT NULL,
	"currency" text NOT NULL,
	"period_start" timestamp with time zone NOT NULL,
	"period_end" timestamp with time zone NOT NULL,
	"country" text,
	"tax_rate_bp" integer NOT NULL,
	"subtotal" integer NOT NULL,
	"tax" integer NOT NULL,
	"total" integer NOT NULL,
	"paid" integer DEFAULT 0 NOT NULL,
	"issued_at" timestamp with time zone DEFAULT now() NOT NULL,
	"due_at" timestamp with time zone NOT NULL,
	"dunning" jsonb DEFAULT '[]'::jsonb NOT NULL,
	CONSTRAINT "invoices_paid_check" CHECK ("billing"."invoices"."paid" >= 0)
);
--> statement-breakpoint
CREATE TABLE "billing"."payment_allocations" (
	"payment_id" uuid NOT NULL,
	"invoice_id" uuid NOT NULL,
	"amount" integer NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "payment_allocations_payment_id_invoice_id_pk" PRIMARY KEY("payment_id","invoice_id"),
	CONSTRAINT "payment_allocations_amount_check" CHECK ("billing"."payment_allocations"."amount" > 0)
);
--> statement-breakpoint
CREATE TABLE "billing"."payments" (
	"id" uuid PRIMARY KEY NOT NULL,
	"billing_account_id" uuid NOT NULL,
	"invoice_id" uuid,
	"amount" integer NOT NULL,
	"currency" text NOT NULL,
	"applied" integer NOT NULL,
	"processor_ref" text NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "payments_amount_check" CHECK ("billing"."payments"."amount" > 0 and "billing"."payments"."applied" between 0 and "billing"."payments"."amount")
);
--> statement-breakpoint
ALTER TABLE "orders"."lines" DROP CONSTRAINT "lines_restriction_check";--> statement-breakpoint
ALTER TABLE "billing"."invoice_lines" ADD CONSTRAINT "invoice_lines_invoice_id_invoices_id_fk" FOREIGN KEY ("invoice_id") REFERENCES "billing"."invoices"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "billing"."payment_allocations" ADD CONSTRAINT "payment_allocations_payment_id_payments_id_fk" FOREIGN KEY ("payment_id") REFERENCES "billing"."payments"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "billing"."payment_allocations" ADD CONSTRAINT "payment_allocations_invoice_id_invoices_id_fk" FOREIGN KEY ("invoice_id") REFERENCES "billing"."invoices"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "invoice_lines_invoice_idx" ON "billing"."invoice_lines" USING btree ("invoice_id");--> statement-breakpoint
CREATE UNIQUE INDEX "invoices_number_key" ON "billing"."invoices" USING btree ("number");--> statement-breakpoint
CREATE UNIQUE INDEX "invoices_account_period_key" ON "billing"."invoices" USING btree ("billing_account_id","period_start");--> statement-breakpoint
CREATE INDEX "invoices_open_idx" ON "billing"."invoices" USING btree ("due_at") WHERE paid < total;--> statement-breakpoint
CREATE UNIQUE INDEX "payments_processor_ref_key" ON "billing"."payments" USING btree ("processor_ref");--> statement-breakpoint
CREATE INDEX "payments_account_idx" ON "billing"."payments" USING btree ("billing_account_id") WHERE applied < amount;--> statement-breakpoint
ALTER TABLE "orders"."lines" ADD CONSTRAINT "lines_restriction_check" CHECK ("orders"."lines"."restriction" is null or "orders"."lines"."restriction" in ('balance', 'usage_cap', 'spend_cap', 'dunning'));