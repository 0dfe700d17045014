CREATE TABLE "service"."business_calendars" (
	"id" uuid PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"calendar" jsonb NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "service"."sla_policies" (
	"id" uuid PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"service_type" text,
	"priority" text,
	"segment" text,
	"calendar_id" uuid NOT NULL,
	"first_response_minutes" integer NOT NULL,
	"next_response_minutes" integer,
	"resolution_minutes" integer NOT NULL,
	"warn_percent" integer DEFAULT 80 NOT NULL,
	"position" integer DEFAULT 0 NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "sla_policies_targets_check" CHECK ("service"."sla_policies"."first_response_minutes" > 0 and "service"."sla_policies"."resolution_minutes" > 0 and ("service"."sla_policies"."next_response_minutes" is null or "service"."sla_policies"."next_response_minutes" > 0)
    and "service"."sla_policies"."warn_percent" between 0 and 100)
);
--> statement-breakpoint
CREATE TABLE "service"."ticket_sla_events" (
	"ticket_id" uuid NOT NULL,
	"target" text NOT NULL,
	"since" timestamp with time zone NOT NULL,
	"level" text NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "ticket_sla_events_ticket_id_target_since_level_pk" PRIMARY KEY("ticket_id","target","since","level")
);
--> statement-breakpoint
ALTER TABLE "service"."tickets" ADD COLUMN "sla_policy_id" uuid;--> statement-breakpoint
ALTER TABLE "service"."tickets" ADD COLUMN "first_response_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "service"."tickets" ADD COLUMN "awaiting_reply_since" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "service"."sla_policies" ADD CONSTRAINT "sla_policies_calendar_id_business_calendars_id_fk" FOREIGN KEY ("calendar_id") REFERENCES "service"."business_calendars"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "service"."ticket_sla_events" ADD CONSTRAINT "ticket_sla_events_ticket_id_tickets_id_fk" FOREIGN KEY ("ticket_id") REFERENCES "service"."tickets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "service"."tickets" ADD CONSTRAINT "tickets_sla_policy_id_sla_policies_id_fk" FOREIGN KEY ("sla_policy_id") REFERENCES "service"."sla_policies"("id") ON DELETE no action ON UPDATE no action;