CREATE TABLE "service"."agents" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"tier" text DEFAULT 'agent' NOT NULL,
	"queues" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"languages" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"active" boolean DEFAULT true NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "agents_tier_check" CHECK ("service"."agents"."tier" in ('agent', 'supervisor', 'specialist', 'management'))
);
--> statement-breakpoint
CREATE TABLE "service"."csat_surveys" (
	"id" uuid PRIMARY KEY NOT NULL,
	"ticket_id" uuid NOT NULL,
	"resolution" integer NOT NULL,
	"token_hash" text NOT NULL,
	"agent_id" text,
	"expires_at" timestamp with time zone NOT NULL,
	"score" integer,
	"comment" text,
	"answered_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "csat_surveys_score_check" CHECK (("service"."csat_surveys"."score" is null) = ("service"."csat_surveys"."answered_at" is null) and ("service"."csat_surveys"."score" is null or "service"."csat_surveys"."score" between 1 and 5))
);
--> statement-breakpoint
CREATE TABLE "service"."follow_up_tasks" (
	"id" uuid PRIMARY KEY NOT NULL,
	"ticket_id" uuid NOT NULL,
	"survey_id" uuid,
	"kind" text NOT NULL,
	"status" text DEFAULT 'open' NOT NULL,
	"assignee_id" text,
	"outcome" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"done_at" timestamp with time zone,
	"done_by" text,
	CONSTRAINT "follow_up_tasks_status_check" CHECK ("service"."follow_up_tasks"."status" in ('open', 'done') and ("service"."follow_up_tasks"."status" = 'done') = ("service"."follow_up_tasks"."done_at" is not null))
);
--> statement-breakpoint
CREATE TABLE "service"."incident_customers" (
	"incident_id" uuid NOT NULL,
	"customer_id" uuid NOT NULL,
	"added_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "incident_customers_incident_id_customer_id_pk" PRIMARY KEY("incident_id","customer_id")
);
--> statement-breakpoint
CREATE TABLE "service"."queue_rules" (
	"id" uuid PRIMARY KEY NOT NULL,
	"service_type" text,
	"language" text,
	"segment" text,
	"queue" text NOT NULL,
	"position" integer NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "service"."tickets" ADD COLUMN "incident_id" uuid;--> statement-breakpoint
ALTER TABLE "service"."csat_surveys" ADD CONSTRAINT "csat_surveys_ticket_id_tickets_id_fk" FOREIGN KEY ("ticket_id") REFERENCES "service"."tickets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "service"."follow_up_tasks" ADD CONSTRAINT "follow_up_tasks_ticket_id_tickets_id_fk" FOREIGN KEY ("ticket_id") REFERENCES "service"."tickets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "service"."follow_up_tasks" ADD CONSTRAINT "follow_up_tasks_survey_id_csat_surveys_id_fk" FOREIGN KEY ("survey_id") REFERENCES "service"."csat_surveys"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "service"."incident_customers" ADD CONSTRAINT "incident_customers_incident_id_incidents_id_fk" FOREIGN KEY ("incident_id") REFERENCES "service"."incidents"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "csat_surveys_token_key" ON "service"."csat_surveys" USING btree ("token_hash");--> statement-breakpoint
CREATE UNIQUE INDEX "csat_surveys_resolution_key" ON "service"."csat_surveys" USING btree ("ticket_id","resolution");--> statement-breakpoint
CREATE INDEX "csat_surveys_answered_idx" ON "service"."csat_surveys" USING btree ("answered_at") WHERE answered_at is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "follow_up_tasks_survey_key" ON "service"."follow_up_tasks" USING btree ("survey_id");--> statement-breakpoint
CREATE INDEX "follow_up_tasks_open_idx" ON "service"."follow_up_tasks" USING btree ("status","created_at");--> statement-breakpoint
CREATE INDEX "incident_customers_customer_idx" ON "service"."incident_customers" USING btree ("customer_id");--> statement-breakpoint
CREATE INDEX "queue_rules_position_idx" ON "service"."queue_rules" USING btree ("position","id");--> statement-breakpoint
ALTER TABLE "service"."tickets" ADD CONSTRAINT "tickets_incident_id_incidents_id_fk" FOREIGN KEY ("incident_id") REFERENCES "service"."incidents"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "addresses_postcode_idx" ON "customers"."addresses" USING btree (lower("postcode")) WHERE postcode is not null;--> statement-breakpoint
CREATE INDEX "addresses_region_idx" ON "customers"."addresses" USING btree (lower("region")) WHERE region is not null;--> statement-breakpoint
CREATE INDEX "tickets_incident_idx" ON "service"."tickets" USING btree ("incident_id") WHERE incident_id is not null;--> statement-breakpoint
ALTER TABLE "service"."interactions" ADD CONSTRAINT "interactions_kind_check" CHECK ("service"."interactions"."direction" in ('inbound', 'outbound') and "service"."interactions"."channel" in ('phone', 'email', 'chat', 'app', 'social', 'web', 'walk_in')
    and "service"."interactions"."outcome" in ('resolved', 'ticket_opened', 'ticket_updated', 'callback_scheduled', 'transferred', 'no_answer', 'abandoned'));--> statement-breakpoint
ALTER TABLE "service"."ticket_messages" ADD CONSTRAINT "ticket_messages_visibility_check" CHECK ("service"."ticket_messages"."visibility" in ('public', 'internal') and "service"."ticket_messages"."author_kind" in ('staff', 'customer', 'partner', 'integration', 'system'));--> statement-breakpoint
ALTER TABLE "service"."tickets" ADD CONSTRAINT "tickets_channel_check" CHECK ("service"."tickets"."channel" in ('phone', 'email', 'chat', 'app', 'social', 'web', 'walk_in'));--> statement-breakpoint
ALTER TABLE "service"."tickets" ADD CONSTRAINT "tickets_tier_check" CHECK ("service"."tickets"."tier" in ('agent', 'supervisor', 'specialist', 'management'));