CREATE SCHEMA "orders";
--> statement-breakpoint
CREATE TABLE "orders"."price_plan_versions" (
	"id" uuid PRIMARY KEY NOT NULL,
	"plan_id" uuid NOT NULL,
	"version" integer NOT NULL,
	"fee_amount" integer NOT NULL,
	"currency" text NOT NULL,
	"terms" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"published_at" timestamp with time zone,
	CONSTRAINT "price_plan_versions_fee_check" CHECK ("orders"."price_plan_versions"."fee_amount" >= 0),
	CONSTRAINT "price_plan_versions_currency_check" CHECK ("orders"."price_plan_versions"."currency" ~ '^[A-Z]{3}$')
);
--> statement-breakpoint
CREATE TABLE "orders"."price_plans" (
	"id" uuid PRIMARY KEY NOT NULL,
	"code" text NOT NULL,
	"name" text NOT NULL,
	"kind" text NOT NULL,
	"status" text DEFAULT 'draft' NOT NULL,
	"current_version" integer DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "price_plans_kind_check" CHECK ("orders"."price_plans"."kind" in ('prepaid', 'postpaid')),
	CONSTRAINT "price_plans_status_check" CHECK ("orders"."price_plans"."status" in ('draft', 'active', 'retired'))
);
--> statement-breakpoint
ALTER TABLE "orders"."price_plan_versions" ADD CONSTRAINT "price_plan_versions_plan_id_price_plans_id_fk" FOREIGN KEY ("plan_id") REFERENCES "orders"."price_plans"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "price_plan_versions_plan_version_key" ON "orders"."price_plan_versions" USING btree ("plan_id","version");--> statement-breakpoint
CREATE UNIQUE INDEX "price_plans_code_key" ON "orders"."price_plans" USING btree ("code");