CREATE TABLE "billing"."spend_caps" (
	"line_id" uuid NOT NULL,
	"set_by" text NOT NULL,
	"amount" integer NOT NULL,
	"currency" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "spend_caps_line_id_set_by_pk" PRIMARY KEY("line_id","set_by"),
	CONSTRAINT "spend_caps_amount_check" CHECK ("billing"."spend_caps"."amount" >= 0),
	CONSTRAINT "spend_caps_set_by_check" CHECK ("billing"."spend_caps"."set_by" in ('customer', 'operator'))
);
--> statement-breakpoint
ALTER TABLE "orders"."lines" ADD COLUMN "restriction" text;--> statement-breakpoint
ALTER TABLE "orders"."lines" ADD COLUMN "throttle_kbps" integer;--> statement-breakpoint
ALTER TABLE "orders"."lines" ADD CONSTRAINT "lines_restriction_check" CHECK ("orders"."lines"."restriction" is null or "orders"."lines"."restriction" in ('balance', 'usage_cap', 'spend_cap'));