CREATE TABLE "vouchers"."discount_applications" (
	"id" uuid PRIMARY KEY NOT NULL,
	"customer_id" uuid NOT NULL,
	"order_ref" text NOT NULL,
	"channel" text NOT NULL,
	"codes" jsonb NOT NULL,
	"items" jsonb NOT NULL,
	"total" bigint NOT NULL,
	"discount" bigint NOT NULL,
	"discount_ids" jsonb NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "vouchers"."discount_uses" (
	"discount_id" uuid NOT NULL,
	"customer_id" uuid NOT NULL,
	"uses" integer NOT NULL,
	CONSTRAINT "discount_uses_discount_id_customer_id_pk" PRIMARY KEY("discount_id","customer_id")
);
--> statement-breakpoint
CREATE TABLE "vouchers"."discounts" (
	"id" uuid PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"code" text,
	"kind" text NOT NULL,
	"value" integer NOT NULL,
	"currency" text,
	"target" jsonb NOT NULL,
	"eligibility" jsonb NOT NULL,
	"valid_from" timestamp with time zone,
	"valid_until" timestamp with time zone,
	"cycles" integer,
	"stacking" text NOT NULL,
	"group_name" text,
	"priority" integer DEFAULT 0 NOT NULL,
	"max_redemptions" integer,
	"redemptions" integer DEFAULT 0 NOT NULL,
	"max_per_customer" integer,
	"status" text DEFAULT 'active' NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "discounts_value_check" CHECK (("vouchers"."discounts"."kind" = 'percentage' and "vouchers"."discounts"."value" between 1 and 10000 and "vouchers"."discounts"."currency" is null)
    or ("vouchers"."discounts"."kind" = 'fixed' and "vouchers"."discounts"."value" > 0 and "vouchers"."discounts"."currency" ~ '^[A-Z]{3}$')),
	CONSTRAINT "discounts_budget_check" CHECK ("vouchers"."discounts"."redemptions" >= 0 and ("vouchers"."discounts"."max_redemptions" is null or "vouchers"."discounts"."redemptions" <= "vouchers"."discounts"."max_redemptions")),
	CONSTRAINT "discounts_window_check" CHECK ("vouchers"."discounts"."valid_until" is null or "vouchers"."discounts"."valid_from" is null or "vouchers"."discounts"."valid_until" > "vouchers"."discounts"."valid_from")
);
--> statement-breakpoint
ALTER TABLE "vouchers"."discount_uses" ADD CONSTRAINT "discount_uses_discount_id_discounts_id_fk" FOREIGN KEY ("discount_id") REFERENCES "vouchers"."discounts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "discount_applications_order_key" ON "vouchers"."discount_applications" USING btree ("order_ref");--> statement-breakpoint
CREATE INDEX "discount_applications_customer_idx" ON "vouchers"."discount_applications" USING btree ("customer_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "discounts_code_key" ON "vouchers"."discounts" USING btree (lower("code")) WHERE code is not null;