ALTER TABLE "service"."tickets" ADD COLUMN "sla_check_at" timestamp with time zone DEFAULT date_trunc('milliseconds', now());--> statement-breakpoint
CREATE INDEX "tickets_sla_check_idx" ON "service"."tickets" USING btree ("sla_check_at","id") WHERE status in ('new', 'open', 'pending') and sla_policy_id is not null and sla_check_at is not null;--> statement-breakpoint
-- Whatever path changes what a ticket's SLA clock is measured from, the breach job looks at it again
-- at its next run: no writer has to remember to. The job's own update sets sla_check_at alone.
CREATE FUNCTION service.tickets_sla_check_again() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (NEW.status, NEW.sla_policy_id, NEW.first_response_at, NEW.awaiting_reply_since, NEW.resolved_at, NEW.created_at)
     IS DISTINCT FROM (OLD.status, OLD.sla_policy_id, OLD.first_response_at, OLD.awaiting_reply_since, OLD.resolved_at, OLD.created_at) THEN
    NEW.sla_check_at := date_trunc('milliseconds', now());
  END IF;
  RETURN NEW;
END $$;
--> statement-breakpoint
CREATE TRIGGER tickets_sla_check_again BEFORE UPDATE ON service.tickets FOR EACH ROW EXECUTE FUNCTION service.tickets_sla_check_again();
