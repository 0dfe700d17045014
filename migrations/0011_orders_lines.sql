CREATE TABLE "orders"."allowance_buckets" (
	"id" uuid PRIMARY KEY NOT NULL,
	"line_id" uuid NOT NULL,
	"line_add_on_id" uuid,
	"usage_type" text NOT NULL,
	"zone" text DEFAULT 'home' NOT NULL,
	"total" bigint,
	"used" bigint DEFAULT 0 NOT NULL,
	"time_window" jsonb,
	"valid_from" timestamp with time zone NOT NULL,
	"valid_until" timestamp with time zone NOT NULL,
	CONSTRAINT "allowance_buckets_usage_check" CHECK ("orders"."allowance_buckets"."usage_type" in ('data', 'voice', 'sms')),
	CONSTRAINT "allowance_buckets_used_check" CHECK ("orders"."allowance_buckets"."used" >= 0),
	CONSTRAINT "allowance_buckets_validity_check" CHECK ("orders"."allowance_buckets"."valid_until" > "orders"."allowance_buckets"."valid_from")
);
--> statement-breakpoint
CREATE TABLE "orders"."charge_lines" (
	"id" uuid PRIMARY KEY NOT NULL,
	"line_id" uuid,
	"billing_account_id" uuid NOT NULL,
	"order_id" uuid,
	"kind" text NOT NULL,
	"ref" text NOT NULL,
	"description" text NOT NULL,
	"amount" integer NOT NULL,
	"currency" text NOT NULL,
	"period_from" timestamp with time zone,
	"period_to" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"billed_at" timestamp with time zone,
	CONSTRAINT "charge_lines_kind_check" CHECK ("orders"."charge_lines"."kind" in ('charge', 'credit', 'one_off', 'recurring')),
	CONSTRAINT "charge_lines_sign_check" CHECK (("orders"."charge_lines"."kind" = 'credit') = ("orders"."charge_lines"."amount" < 0))
);
--> statement-breakpoint
CREATE TABLE "orders"."line_add_ons" (
	"id" uuid PRIMARY KEY NOT NULL,
	"line_id" uuid NOT NULL,
	"add_on_id" uuid NOT NULL,
	"add_on_version_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"exclusive_group" text,
	"status" text DEFAULT 'active' NOT NULL,
	"starts_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"ended_at" timestamp with time zone,
	"order_id" uuid NOT NULL,
	CONSTRAINT "line_add_ons_status_check" CHECK ("orders"."line_add_ons"."status" in ('active', 'expired', 'removed')),
	CONSTRAINT "line_add_ons_ended_check" CHECK (("orders"."line_add_ons"."status" = 'active') = ("orders"."line_add_ons"."ended_at" is null))
);
--> statement-breakpoint
CREATE TABLE "orders"."lines" (
	"id" uuid PRIMARY KEY NOT NULL,
	"customer_id" uuid NOT NULL,
	"billing_account_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"currency" text NOT NULL,
	"msisdn" text NOT NULL,
	"iccid" text NOT NULL,
	"plan_id" uuid NOT NULL,
	"plan_version_id" uuid NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"status_reason" text,
	"bill_cycle_day" integer NOT NULL,
	"cycle_start" timestamp with time zone NOT NULL,
	"cycle_end" timestamp with time zone NOT NULL,
	"activated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"terminated_at" timestamp with time zone,
	"order_id" uuid NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "lines_status_check" CHECK ("orders"."lines"."status" in ('active', 'suspended', 'barred', 'terminated')),
	CONSTRAINT "lines_kind_check" CHECK ("orders"."lines"."kind" in ('prepaid', 'postpaid')),
	CONSTRAINT "lines_cycle_check" CHECK ("orders"."lines"."cycle_end" > "orders"."lines"."cycle_start" and "orders"."lines"."bill_cycle_day" between 1 and 31),
	CONSTRAINT "lines_terminated_check" CHECK (("orders"."lines"."status" = 'terminated') = ("orders"."lines"."terminated_at" is not null))
);
--> statement-breakpoint
CREATE TABLE "orders"."orders" (
	"id" uuid PRIMARY KEY NOT NULL,
	"type" text NOT NULL,
	"status" text DEFAULT 'acknowledged' NOT NULL,
	"customer_id" uuid NOT NULL,
	"billing_account_id" uuid NOT NULL,
	"line_id" uuid,
	"items" jsonb NOT NULL,
	"effective" text DEFAULT 'now' NOT NULL,
	"scheduled_for" timestamp with time zone,
	"reason" text,
	"history" jsonb NOT NULL,
	"placed_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"completed_at" timestamp with time zone,
	CONSTRAINT "orders_type_check" CHECK ("orders"."orders"."type" in ('new_line', 'change_plan', 'add_add_on', 'remove_add_on', 'suspend', 'resume', 'terminate', 'replace_sim', 'buy_device')),
	CONSTRAINT "orders_status_check" CHECK ("orders"."orders"."status" in ('acknowledged', 'in_progress', 'completed', 'failed', 'cancelled')),
	CONSTRAINT "orders_effective_check" CHECK (("orders"."orders"."effective" = 'next_cycle') = ("orders"."orders"."scheduled_for" is not null))
);
--> statement-breakpoint
CREATE TABLE "orders"."add_on_versions" (
	"id" uuid PRIMARY KEY NOT NULL,
	"add_on_id" uuid NOT NULL,
	"version" integer NOT NULL,
	"fee_amount" integer NOT NULL,
	"currency" text NOT NULL,
	"terms" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"published_at" timestamp with time zone,
	CONSTRAINT "add_on_versions_fee_check" CHECK ("orders"."add_on_versions"."fee_amount" >= 0),
	CONSTRAINT "add_on_versions_currency_check" CHECK ("orders"."add_on_versions"."currency" ~ '^[A-Z]{3}$')
);
--> statement-breakpoint
CREATE TABLE "orders"."add_ons" (
	"id" uuid PRIMARY KEY NOT NULL,
	"code" text NOT NULL,
	"name" text NOT NULL,
	"kind" text NOT NULL,
	"status" text DEFAULT 'draft' NOT NULL,
	"current_version" integer DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "add_ons_kind_check" CHECK ("orders"."add_ons"."kind" in ('one_off', 'recurring')),
	CONSTRAINT "add_ons_status_check" CHECK ("orders"."add_ons"."status" in ('draft', 'active', 'retired'))
);
--> statement-breakpoint
CREATE TABLE "orders"."device_units" (
	"serial" text PRIMARY KEY NOT NULL,
	"sku" text NOT NULL,
	"status" text DEFAULT 'available' NOT NULL,
	"reserved_for" text,
	"reserved_until" timestamp with time zone,
	"assigned_to" text,
	"quarantined_until" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "device_units_status_check" CHECK ("orders"."device_units"."status" in ('available', 'reserved', 'assigned', 'quarantined')),
	CONSTRAINT "device_units_reserved_check" CHECK (("orders"."device_units"."status" = 'reserved') = ("orders"."device_units"."reserved_for" is not null and "orders"."device_units"."reserved_until" is not null)),
	CONSTRAINT "device_units_assigned_check" CHECK (("orders"."device_units"."status" = 'assigned') = ("orders"."device_units"."assigned_to" is not null)),
	CONSTRAINT "device_units_quarantined_check" CHECK (("orders"."device_units"."status" = 'quarantined') = ("orders"."device_units"."quarantined_until" is not null))
);
--> statement-breakpoint
CREATE TABLE "orders"."devices" (
	"sku" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"price_amount" integer NOT NULL,
	"currency" text NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "devices_price_check" CHECK ("orders"."devices"."price_amount" >= 0),
	CONSTRAINT "devices_currency_check" CHECK ("orders"."devices"."currency" ~ '^[A-Z]{3}$'),
	CONSTRAINT "devices_status_check" CHECK ("orders"."devices"."status" in ('active', 'retired'))
);
--> statement-breakpoint
ALTER TABLE "orders"."allowance_buckets" ADD CONSTRAINT "allowance_buckets_line_id_lines_id_fk" FOREIGN KEY ("line_id") REFERENCES "orders"."lines"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "orders"."allowance_buckets" ADD CONSTRAINT "allowance_buckets_line_add_on_id_line_add_ons_id_fk" FOREIGN KEY ("line_add_on_id") REFERENCES "orders"."line_add_ons"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "orders"."line_add_ons" ADD CONSTRAINT "line_add_ons_line_id_lines_id_fk" FOREIGN KEY ("line_id") REFERENCES "orders"."lines"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "orders"."line_add_ons" ADD CONSTRAINT "line_add_ons_add_on_id_add_ons_id_fk" FOREIGN KEY ("add_on_id") REFERENCES "orders"."add_ons"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "orders"."line_add_ons" ADD CONSTRAINT "line_add_ons_add_on_version_id_add_on_versions_id_fk" FOREIGN KEY ("add_on_version_id") REFERENCES "orders"."add_on_versions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "orders"."lines" ADD CONSTRAINT "lines_plan_id_price_plans_id_fk" FOREIGN KEY ("plan_id") REFERENCES "orders"."price_plans"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "orders"."lines" ADD CONSTRAINT "lines_plan_version_id_price_plan_versions_id_fk" FOREIGN KEY ("plan_version_id") REFERENCES "orders"."price_plan_versions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "orders"."add_on_versions" ADD CONSTRAINT "add_on_versions_add_on_id_add_ons_id_fk" FOREIGN KEY ("add_on_id") REFERENCES "orders"."add_ons"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "orders"."device_units" ADD CONSTRAINT "device_units_sku_devices_sku_fk" FOREIGN KEY ("sku") REFERENCES "orders"."devices"("sku") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "allowance_buckets_line_idx" ON "orders"."allowance_buckets" USING btree ("line_id","valid_until");--> statement-breakpoint
CREATE INDEX "charge_lines_unbilled_idx" ON "orders"."charge_lines" USING btree ("billing_account_id","id") WHERE billed_at is null;--> statement-breakpoint
CREATE INDEX "charge_lines_line_idx" ON "orders"."charge_lines" USING btree ("line_id","id");--> statement-breakpoint
CREATE INDEX "line_add_ons_line_idx" ON "orders"."line_add_ons" USING btree ("line_id");--> statement-breakpoint
CREATE INDEX "line_add_ons_expiry_idx" ON "orders"."line_add_ons" USING btree ("expires_at") WHERE status = 'active';--> statement-breakpoint
CREATE UNIQUE INDEX "line_add_ons_exclusive_key" ON "orders"."line_add_ons" USING btree ("line_id","exclusive_group") WHERE status = 'active' and exclusive_group is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "line_add_ons_recurring_key" ON "orders"."line_add_ons" USING btree ("line_id","add_on_id") WHERE status = 'active' and kind = 'recurring';--> statement-breakpoint
CREATE UNIQUE INDEX "lines_msisdn_key" ON "orders"."lines" USING btree ("msisdn") WHERE status <> 'terminated';--> statement-breakpoint
CREATE UNIQUE INDEX "lines_iccid_key" ON "orders"."lines" USING btree ("iccid") WHERE status <> 'terminated';--> statement-breakpoint
CREATE INDEX "lines_customer_idx" ON "orders"."lines" USING btree ("customer_id","id");--> statement-breakpoint
CREATE INDEX "lines_cycle_end_idx" ON "orders"."lines" USING btree ("cycle_end") WHERE status <> 'terminated';--> statement-breakpoint
CREATE INDEX "orders_customer_idx" ON "orders"."orders" USING btree ("customer_id","id");--> statement-breakpoint
CREATE INDEX "orders_line_idx" ON "orders"."orders" USING btree ("line_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "orders_one_plan_change_key" ON "orders"."orders" USING btree ("line_id") WHERE type = 'change_plan' and status in ('acknowledged', 'in_progress');--> statement-breakpoint
CREATE UNIQUE INDEX "add_on_versions_add_on_version_key" ON "orders"."add_on_versions" USING btree ("add_on_id","version");--> statement-breakpoint
CREATE UNIQUE INDEX "add_ons_code_key" ON "orders"."add_ons" USING btree ("code");--> statement-breakpoint
CREATE INDEX "device_units_status_idx" ON "orders"."device_units" USING btree ("status","reserved_until");--> statement-breakpoint
CREATE INDEX "device_units_pick_idx" ON "orders"."device_units" USING btree ("sku","serial") WHERE status = 'available';