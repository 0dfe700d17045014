CREATE TABLE "service"."incidents" (
	"id" uuid PRIMARY KEY NOT NULL,
	"title" text NOT NULL,
	"severity" text NOT NULL,
	"status" text NOT NULL,
	"services" jsonb NOT NULL,
	"areas" jsonb NOT NULL,
	"status_text" jsonb NOT NULL,
	"starts_at" timestamp with time zone NOT NULL,
	"estimated_end_at" timestamp with time zone,
	"ended_at" timestamp with time zone,
	"source" text NOT NULL,
	"fingerprint" text,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "incidents_status_check" CHECK ("service"."incidents"."status" in ('scheduled', 'open', 'resolved') and ("service"."incidents"."status" = 'resolved') = ("service"."incidents"."ended_at" is not null))
);
--> statement-breakpoint
CREATE UNIQUE INDEX "incidents_fingerprint_key" ON "service"."incidents" USING btree ("fingerprint") WHERE fingerprint is not null;--> statement-breakpoint
CREATE INDEX "incidents_status_idx" ON "service"."incidents" USING btree ("status","starts_at");