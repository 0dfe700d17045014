CREATE SCHEMA "service";
--> statement-breakpoint
CREATE SEQUENCE "service"."ticket_numbers" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1;--> statement-breakpoint
CREATE TABLE "service"."interactions" (
	"id" uuid PRIMARY KEY NOT NULL,
	"customer_id" uuid NOT NULL,
	"channel" text NOT NULL,
	"direction" text NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"duration_seconds" integer NOT NULL,
	"outcome" text NOT NULL,
	"ticket_id" uuid,
	"agent_id" text NOT NULL,
	"notes" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "interactions_duration_check" CHECK ("service"."interactions"."duration_seconds" >= 0)
);
--> statement-breakpoint
CREATE TABLE "service"."subcategories" (
	"service_type" text NOT NULL,
	"code" text NOT NULL,
	"name" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "service"."ticket_history" (
	"id" uuid PRIMARY KEY NOT NULL,
	"ticket_id" uuid NOT NULL,
	"status" text NOT NULL,
	"actor" text NOT NULL,
	"reason" text,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "service"."ticket_messages" (
	"id" uuid PRIMARY KEY NOT NULL,
	"ticket_id" uuid NOT NULL,
	"visibility" text NOT NULL,
	"author_kind" text NOT NULL,
	"author_id" text NOT NULL,
	"channel" text NOT NULL,
	"body" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "ticket_messages_internal_check" CHECK ("service"."ticket_messages"."visibility" = 'public' or "service"."ticket_messages"."author_kind" = 'staff')
);
--> statement-breakpoint
CREATE TABLE "service"."tickets" (
	"id" uuid PRIMARY KEY NOT NULL,
	"number" text NOT NULL,
	"customer_id" uuid NOT NULL,
	"line_id" uuid,
	"order_id" uuid,
	"invoice_id" uuid,
	"service_type" text NOT NULL,
	"subcategory" text,
	"categorised_by" text NOT NULL,
	"priority" text NOT NULL,
	"channel" text NOT NULL,
	"status" text DEFAULT 'new' NOT NULL,
	"pending_on" text,
	"subject" text NOT NULL,
	"language" text NOT NULL,
	"queue" text NOT NULL,
	"assignee_id" text,
	"opened_by" text NOT NULL,
	"reopen_count" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"resolved_at" timestamp with time zone,
	"closed_at" timestamp with time zone,
	CONSTRAINT "tickets_status_check" CHECK ("service"."tickets"."status" in ('new', 'open', 'pending', 'resolved', 'closed')),
	CONSTRAINT "tickets_service_type_check" CHECK ("service"."tickets"."service_type" in ('internet', 'mobile', 'billing', 'outage', 'installation')),
	CONSTRAINT "tickets_priority_check" CHECK ("service"."tickets"."priority" in ('low', 'normal', 'high', 'urgent')),
	CONSTRAINT "tickets_pending_check" CHECK (("service"."tickets"."status" = 'pending') = ("service"."tickets"."pending_on" is not null)),
	CONSTRAINT "tickets_resolved_check" CHECK ("service"."tickets"."status" not in ('resolved', 'closed') or "service"."tickets"."resolved_at" is not null)
);
--> statement-breakpoint
CREATE TABLE "service"."triage_rules" (
	"id" uuid PRIMARY KEY NOT NULL,
	"keyword" text NOT NULL,
	"service_type" text NOT NULL,
	"subcategory" text,
	"position" integer NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "service"."interactions" ADD CONSTRAINT "interactions_ticket_id_tickets_id_fk" FOREIGN KEY ("ticket_id") REFERENCES "service"."tickets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "service"."ticket_history" ADD CONSTRAINT "ticket_history_ticket_id_tickets_id_fk" FOREIGN KEY ("ticket_id") REFERENCES "service"."tickets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "service"."ticket_messages" ADD CONSTRAINT "ticket_messages_ticket_id_tickets_id_fk" FOREIGN KEY ("ticket_id") REFERENCES "service"."tickets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "interactions_customer_idx" ON "service"."interactions" USING btree ("customer_id","started_at");--> statement-breakpoint
CREATE INDEX "interactions_agent_idx" ON "service"."interactions" USING btree ("agent_id","started_at");--> statement-breakpoint
CREATE UNIQUE INDEX "subcategories_key" ON "service"."subcategories" USING btree ("service_type","code");--> statement-breakpoint
CREATE INDEX "ticket_history_ticket_idx" ON "service"."ticket_history" USING btree ("ticket_id","at");--> statement-breakpoint
CREATE INDEX "ticket_messages_ticket_idx" ON "service"."ticket_messages" USING btree ("ticket_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "tickets_number_key" ON "service"."tickets" USING btree ("number");--> statement-breakpoint
CREATE INDEX "tickets_customer_idx" ON "service"."tickets" USING btree ("customer_id","id");--> statement-breakpoint
CREATE INDEX "tickets_queue_idx" ON "service"."tickets" USING btree ("queue","status","id");--> statement-breakpoint
CREATE INDEX "tickets_assignee_idx" ON "service"."tickets" USING btree ("assignee_id","status") WHERE assignee_id is not null;--> statement-breakpoint
CREATE INDEX "tickets_resolved_idx" ON "service"."tickets" USING btree ("resolved_at") WHERE status = 'resolved';--> statement-breakpoint
CREATE INDEX "triage_rules_position_idx" ON "service"."triage_rules" USING btree ("position","id");