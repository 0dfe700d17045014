ALTER TABLE "service"."interactions" DROP CONSTRAINT "interactions_kind_check";--> statement-breakpoint
ALTER TABLE "service"."tickets" DROP CONSTRAINT "tickets_channel_check";--> statement-breakpoint
ALTER TABLE "campaigns"."inbound_messages" ADD COLUMN "external_id" text;--> statement-breakpoint
CREATE UNIQUE INDEX "inbound_messages_external_key" ON "campaigns"."inbound_messages" USING btree ("channel","external_id");--> statement-breakpoint
ALTER TABLE "service"."interactions" ADD CONSTRAINT "interactions_kind_check" CHECK ("service"."interactions"."direction" in ('inbound', 'outbound') and "service"."interactions"."channel" in ('phone', 'sms', 'email', 'chat', 'app', 'social', 'web', 'walk_in')
    and "service"."interactions"."outcome" in ('resolved', 'ticket_opened', 'ticket_updated', 'callback_scheduled', 'transferred', 'no_answer', 'abandoned'));--> statement-breakpoint
ALTER TABLE "service"."tickets" ADD CONSTRAINT "tickets_channel_check" CHECK ("service"."tickets"."channel" in ('phone', 'sms', 'email', 'chat', 'app', 'social', 'web', 'walk_in'));