CREATE SCHEMA "billing";
--> statement-breakpoint
CREATE TABLE "billing"."balances" (
	"billing_account_id" uuid PRIMARY KEY NOT NULL,
	"customer_id" uuid NOT NULL,
	"currency" text NOT NULL,
	"amount" bigint DEFAULT 0 NOT NULL,
	"credit_limit" bigint DEFAULT 0 NOT NULL,
	"low_balance_threshold" bigint DEFAULT 500,
	"valid_until" timestamp with time zone,
	"entries" bigint DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "balances_floor_check" CHECK ("billing"."balances"."amount" >= -"billing"."balances"."credit_limit"),
	CONSTRAINT "balances_credit_limit_check" CHECK ("billing"."balances"."credit_limit" >= 0),
	CONSTRAINT "balances_currency_check" CHECK ("billing"."balances"."currency" ~ '^[A-Z]{3}$')
);
--> statement-breakpoint
CREATE TABLE "billing"."ledger_entries" (
	"id" uuid PRIMARY KEY NOT NULL,
	"billing_account_id" uuid NOT NULL,
	"seq" bigint NOT NULL,
	"type" text NOT NULL,
	"amount" bigint NOT NULL,
	"currency" text NOT NULL,
	"balance_after" bigint NOT NULL,
	"ref_type" text NOT NULL,
	"ref_id" text NOT NULL,
	"reason" text,
	"actor" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "ledger_entries_type_check" CHECK ("billing"."ledger_entries"."type" in ('recharge', 'voucher', 'usage', 'fee', 'refund', 'adjustment', 'transfer', 'expiry')),
	CONSTRAINT "ledger_entries_amount_check" CHECK ("billing"."ledger_entries"."amount" <> 0)
);
--> statement-breakpoint
ALTER TABLE "billing"."ledger_entries" ADD CONSTRAINT "ledger_entries_billing_account_id_balances_billing_account_id_fk" FOREIGN KEY ("billing_account_id") REFERENCES "billing"."balances"("billing_account_id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "balances_customer_idx" ON "billing"."balances" USING btree ("customer_id");--> statement-breakpoint
CREATE INDEX "balances_validity_idx" ON "billing"."balances" USING btree ("valid_until") WHERE amount > 0;--> statement-breakpoint
CREATE UNIQUE INDEX "ledger_entries_seq_key" ON "billing"."ledger_entries" USING btree ("billing_account_id","seq");--> statement-breakpoint
CREATE UNIQUE INDEX "ledger_entries_cause_key" ON "billing"."ledger_entries" USING btree ("billing_account_id","type","ref_type","ref_id");