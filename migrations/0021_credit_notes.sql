CREATE TABLE "billing"."credit_note_counters" (
	"year" integer PRIMARY KEY NOT NULL,
	"last" integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE "billing"."credit_notes" (
	"id" uuid PRIMARY KEY NOT NULL,
	"number" text NOT NULL,
	"invoice_id" uuid NOT NULL,
	"billing_account_id" uuid NOT NULL,
	"subtotal" integer NOT NULL,
	"tax" integer NOT NULL,
	"total" integer NOT NULL,
	"currency" text NOT NULL,
	"reason" text NOT NULL,
	"issued_by" text NOT NULL,
	"issued_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "credit_notes_total_check" CHECK ("billing"."credit_notes"."total" > 0 and "billing"."credit_notes"."subtotal" > 0)
);
--> statement-breakpoint
ALTER TABLE "billing"."invoices" DROP CONSTRAINT "invoices_paid_check";--> statement-breakpoint
DROP INDEX "billing"."invoices_open_idx";--> statement-breakpoint
ALTER TABLE "billing"."invoices" ADD COLUMN "credited" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "billing"."credit_notes" ADD CONSTRAINT "credit_notes_invoice_id_invoices_id_fk" FOREIGN KEY ("invoice_id") REFERENCES "billing"."invoices"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "credit_notes_number_key" ON "billing"."credit_notes" USING btree ("number");--> statement-breakpoint
CREATE INDEX "credit_notes_invoice_idx" ON "billing"."credit_notes" USING btree ("invoice_id");--> statement-breakpoint
CREATE INDEX "invoices_open_idx" ON "billing"."invoices" USING btree ("due_at") WHERE paid + credited < total;--> statement-breakpoint
ALTER TABLE "billing"."invoices" ADD CONSTRAINT "invoices_paid_check" CHECK ("billing"."invoices"."paid" >= 0 and "billing"."invoices"."credited" >= 0 and "billing"."invoices"."credited" <= "billing"."invoices"."total");