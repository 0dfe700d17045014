CREATE TABLE "campaigns"."conversions" (
	"campaign_id" uuid NOT NULL,
	"customer_id" uuid NOT NULL,
	"event_id" uuid NOT NULL,
	"amount" integer NOT NULL,
	"currency" text NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "conversions_campaign_id_customer_id_pk" PRIMARY KEY("campaign_id","customer_id")
);
--> statement-breakpoint
ALTER TABLE "service"."interactions" DROP CONSTRAINT "interactions_kind_check";--> statement-breakpoint
ALTER TABLE "service"."tickets" DROP CONSTRAINT "tickets_channel_check";--> statement-breakpoint
ALTER TABLE "campaigns"."inbound_messages" ADD COLUMN "external_id" text;--> statement-breakpoint
ALTER TABLE "campaigns"."conversions" ADD CONSTRAINT "conversions_campaign_id_campaigns_id_fk" FOREIGN KEY ("campaign_id") REFERENCES "campaigns"."campaigns"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "inbound_messages_external_key" ON "campaigns"."inbound_messages" USING btree ("channel","external_id");--> statement-breakpoint
ALTER TABLE "service"."interactions" ADD CONSTRAINT "interactions_kind_check" CHECK ("service"."interactions"."direction" in ('inbound', 'outbound') and "service"."interactions"."channel" in ('phone', 'sms', 'email', 'chat', 'app', 'social', 'web', 'walk_in')
    and "service"."interactions"."outcome" in ('resolved', 'ticket_opened', 'ticket_updated', 'callback_scheduled', 'transferred', 'no_answer', 'abandoned'));--> statement-breakpoint
ALTER TABLE "service"."tickets" ADD CONSTRAINT "tickets_channel_check" CHECK ("service"."tickets"."channel" in ('phone', 'sms', 'email', 'chat', 'app', 'social', 'web', 'walk_in'));