CREATE TABLE "billing"."rejected_usage" (
	"id" uuid PRIMARY KEY NOT NULL,
	"record_id" text NOT NULL,
	"batch_id" uuid NOT NULL,
	"reason" text NOT NULL,
	"record" jsonb NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "rejected_usage_reason_check" CHECK ("billing"."rejected_usage"."reason" in ('unknown_line', 'late_record', 'future_record'))
);
--> statement-breakpoint
CREATE TABLE "billing"."usage_counters" (
	"line_id" uuid NOT NULL,
	"cycle_start" timestamp with time zone NOT NULL,
	"usage_type" text NOT NULL,
	"chargeable" bigint DEFAULT 0 NOT NULL,
	"amount" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "usage_counters_line_id_cycle_start_usage_type_pk" PRIMARY KEY("line_id","cycle_start","usage_type")
);
--> statement-breakpoint
CREATE TABLE "billing"."usage_record_ids" (
	"record_id" text PRIMARY KEY NOT NULL,
	"batch_id" uuid NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "billing"."usage_records" (
	"id" uuid NOT NULL,
	"record_id" text NOT NULL,
	"batch_id" uuid NOT NULL,
	"line_id" uuid NOT NULL,
	"billing_account_id" uuid NOT NULL,
	"msisdn" text NOT NULL,
	"usage_type" text NOT NULL,
	"zone" text NOT NULL,
	"quantity" bigint NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"cycle_start" timestamp with time zone NOT NULL,
	"draws" jsonb NOT NULL,
	"chargeable" bigint NOT NULL,
	"amount" integer NOT NULL,
	"currency" text NOT NULL,
	"rated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"billed_at" timestamp with time zone,
	CONSTRAINT "usage_records_id_started_at_pk" PRIMARY KEY("id","started_at"),
	CONSTRAINT "usage_records_quantity_check" CHECK ("billing"."usage_records"."quantity" > 0 and "billing"."usage_records"."chargeable" >= 0 and "billing"."usage_records"."chargeable" <= "billing"."usage_records"."quantity" and "billing"."usage_records"."amount" >= 0)
);
--> statement-breakpoint
CREATE INDEX "rejected_usage_received_idx" ON "billing"."rejected_usage" USING btree ("id");--> statement-breakpoint
CREATE INDEX "usage_records_line_idx" ON "billing"."usage_records" USING btree ("line_id","started_at");--> statement-breakpoint
CREATE INDEX "usage_records_unbilled_idx" ON "billing"."usage_records" USING btree ("billing_account_id") WHERE billed_at is null and amount > 0;