ALTER TABLE "service"."ticket_sla_events" DROP CONSTRAINT "ticket_sla_events_ticket_id_target_since_level_pk";--> statement-breakpoint
ALTER TABLE "service"."ticket_sla_events" ADD COLUMN "policy_id" uuid;--> statement-breakpoint
-- What was announced stays announced for the policy the ticket has now: only a later change of policy announces again.
UPDATE "service"."ticket_sla_events" e SET "policy_id" = t."sla_policy_id" FROM "service"."tickets" t WHERE t."id" = e."ticket_id";--> statement-breakpoint
ALTER TABLE "service"."ticket_sla_events" ADD CONSTRAINT "ticket_sla_events_policy_id_sla_policies_id_fk" FOREIGN KEY ("policy_id") REFERENCES "service"."sla_policies"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "ticket_sla_events_key" ON "service"."ticket_sla_events" USING btree ("ticket_id","policy_id","target","since","level");