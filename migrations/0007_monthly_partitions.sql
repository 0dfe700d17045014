-- Append-only tables grow without bound: partition them by month, so old months can be detached,
-- archived or dropped whole, and each month's indexes stay small.

-- Creates the monthly partitions of `parent` from `months_back` before this month to `months_ahead`
-- after it, and a default partition for anything outside. Idempotent; the platform runs it at every
-- start and daily (platform.ensure_partitions).
CREATE OR REPLACE FUNCTION platform.ensure_monthly_partitions(parent regclass, months_back int DEFAULT 1, months_ahead int DEFAULT 3)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  schema_name text;
  table_name text;
  month date;
BEGIN
  SELECT n.nspname, c.relname INTO schema_name, table_name
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = parent;
  FOR i IN -months_back..months_ahead LOOP
    month := (date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => i))::date;
    IF to_regclass(format('%I.%I', schema_name, table_name || '_' || to_char(month, 'YYYYMM'))) IS NULL THEN
      EXECUTE format('CREATE TABLE %I.%I PARTITION OF %s FOR VALUES FROM (%L) TO (%L)',
        schema_name, table_name || '_' || to_char(month, 'YYYYMM'), parent,
        (month::timestamp AT TIME ZONE 'UTC'), ((month + interval '1 month')::timestamp AT TIME ZONE 'UTC'));
    END IF;
  END LOOP;
  IF to_regclass(format('%I.%I', schema_name, table_name || '_default')) IS NULL THEN
    EXECUTE format('CREATE TABLE %I.%I PARTITION OF %s DEFAULT', schema_name, table_name || '_default', parent);
  END IF;
END $$;
--> statement-breakpoint

-- platform.audit_log, partitioned by "at".
CREATE TABLE platform.audit_log_new (LIKE platform.audit_log INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY RANGE (at);
--> statement-breakpoint
SELECT platform.ensure_monthly_partitions('platform.audit_log_new');
--> statement-breakpoint
INSERT INTO platform.audit_log_new SELECT * FROM platform.audit_log;
--> statement-breakpoint
DROP TABLE platform.audit_log;
--> statement-breakpoint
ALTER TABLE platform.audit_log_new RENAME TO audit_log;
--> statement-breakpoint
DO $$
DECLARE r record;
BEGIN
  -- The partitions were named after the temporary parent.
  FOR r IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
           WHERE i.inhparent = 'platform.audit_log'::regclass LOOP
    EXECUTE format('ALTER TABLE platform.%I RENAME TO %I', r.relname, replace(r.relname, 'audit_log_new_', 'audit_log_'));
  END LOOP;
END $$;
--> statement-breakpoint
ALTER TABLE platform.audit_log ADD CONSTRAINT audit_log_id_at_pk PRIMARY KEY (id, at);
--> statement-breakpoint
CREATE INDEX audit_log_entity_idx ON platform.audit_log USING btree (entity_type, entity_id, id);
--> statement-breakpoint
CREATE INDEX audit_log_actor_idx ON platform.audit_log USING btree (actor_id, id);
--> statement-breakpoint
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON platform.audit_log
  FOR EACH ROW EXECUTE FUNCTION platform.refuse_change();
--> statement-breakpoint
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON platform.audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION platform.refuse_change();
--> statement-breakpoint

-- platform.events, partitioned by "occurred_at".
CREATE TABLE platform.events_new (LIKE platform.events INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY RANGE (occurred_at);
--> statement-breakpoint
SELECT platform.ensure_monthly_partitions('platform.events_new');
--> statement-breakpoint
INSERT INTO platform.events_new SELECT * FROM platform.events;
--> statement-breakpoint
DROP TABLE platform.events;
--> statement-breakpoint
ALTER TABLE platform.events_new RENAME TO events;
--> statement-breakpoint
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
           WHERE i.inhparent = 'platform.events'::regclass LOOP
    EXECUTE format('ALTER TABLE platform.%I RENAME TO %I', r.relname, replace(r.relname, 'events_new_', 'events_'));
  END LOOP;
END $$;
--> statement-breakpoint
ALTER TABLE platform.events ADD CONSTRAINT events_id_occurred_at_pk PRIMARY KEY (id, occurred_at);
--> statement-breakpoint
CREATE INDEX events_feed_idx ON platform.events USING btree (txid, id);
--> statement-breakpoint
CREATE INDEX events_type_idx ON platform.events USING btree (type, txid, id);
--> statement-breakpoint
CREATE INDEX events_undispatched_idx ON platform.events USING btree (txid, id) WHERE dispatched_at IS NULL;
