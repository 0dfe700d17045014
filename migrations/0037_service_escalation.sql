CREATE TABLE "service"."escalation_rules" (
	"id" uuid PRIMARY KEY NOT NULL,
	"trigger" text NOT NULL,
	"target" text,
	"segment" text,
	"service_type" text,
	"tier" text NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "escalation_rules_segment_check" CHECK (("service"."escalation_rules"."trigger" = 'segment') = ("service"."escalation_rules"."segment" is not null))
);
--> statement-breakpoint
CREATE TABLE "service"."ticket_escalations" (
	"id" uuid PRIMARY KEY NOT NULL,
	"ticket_id" uuid NOT NULL,
	"from_tier" text NOT NULL,
	"to_tier" text NOT NULL,
	"reason" text NOT NULL,
	"rule_id" uuid,
	"actor" text NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "service"."ticket_links" (
	"ticket_id" uuid NOT NULL,
	"related_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "ticket_links_ticket_id_related_id_kind_pk" PRIMARY KEY("ticket_id","related_id","kind")
);
--> statement-breakpoint
ALTER TABLE "service"."tickets" ADD COLUMN "tier" text DEFAULT 'agent' NOT NULL;--> statement-breakpoint
ALTER TABLE "service"."tickets" ADD COLUMN "recurring" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "service"."ticket_escalations" ADD CONSTRAINT "ticket_escalations_ticket_id_tickets_id_fk" FOREIGN KEY ("ticket_id") REFERENCES "service"."tickets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "service"."ticket_links" ADD CONSTRAINT "ticket_links_ticket_id_tickets_id_fk" FOREIGN KEY ("ticket_id") REFERENCES "service"."tickets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "service"."ticket_links" ADD CONSTRAINT "ticket_links_related_id_tickets_id_fk" FOREIGN KEY ("related_id") REFERENCES "service"."tickets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "ticket_escalations_ticket_idx" ON "service"."ticket_escalations" USING btree ("ticket_id","at");