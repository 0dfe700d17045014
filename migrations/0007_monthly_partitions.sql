-- Append-only tables grow without bound: partition them by month, so old months can be detached,
-- archived or dropped whole, and each month's indexes stay small.

-- Nothing may be written to the old tables between the copy and the drop (a rolling deploy's old
-- instances): the lock holds until the migrations' transaction commits.
LOCK TABLE platform.audit_log, platform.events IN ACCESS EXCLUSIVE MODE;
--> statement-breakpoint

-- Creates the monthly partitions of `parent` from `months_back` before this month to `months_ahead`
-- after it, and a default partition for anything outside. Idempotent and safe to run from several
-- processes at once (the lock); the platform runs it at every start and daily. A month whose rows
-- already sit in the default partition (the task did not run for months) is left there with a
-- warning instead of failing every later month and every start-up.
CREATE OR REPLACE FUNCTION platform.ensure_monthly_partitions(parent regclass, months_back int DEFAULT 1, months_ahead int DEFAULT 3)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  schema_name text;
  table_name text;
  key_column text;
  month date;
  part text;
  lower_bound text;
  upper_bound text;
  blocked boolean;
BEGIN
  SET LOCAL lock_timeout = '10s';
  EXECUTE format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', parent);
  SELECT n.nspname, c.relname INTO schema_name, table_name
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = parent;
  SELECT a.attname INTO key_column FROM pg_partitioned_table p
    JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0] WHERE p.partrelid = parent;
  IF to_regclass(format('%I.%I', schema_name, table_name || '_default')) IS NULL THEN
    EXECUTE format('CREATE TABLE %I.%I PARTITION OF %s DEFAULT', schema_name, table_name || '_default', parent);
  END IF;
  FOR i IN -months_back..months_ahead LOOP
    month := (date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => i))::date;
    part := table_name || '_' || to_char(month, 'YYYYMM');
    CONTINUE WHEN to_regclass(format('%I.%I', schema_name, part)) IS NOT NULL;
    -- Bounds written out in UTC, whatever the session's TimeZone and DateStyle.
    lower_bound := to_char(month, 'YYYY-MM-DD') || ' 00:00:00+00';
    upper_bound := to_char((month + interval '1 month')::date, 'YYYY-MM-DD') || ' 00:00:00+00';
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I.%I WHERE %I >= %L::timestamptz AND %I < %L::timestamptz)',
      schema_name, table_name || '_default', key_column, lower_bound, key_column, upper_bound) INTO blocked;
    IF blocked THEN
      RAISE WARNING 'partition %.% not created: rows for that month are already in the default partition', schema_name, part;
      CONTINUE;
    END IF;
    EXECUTE format('CREATE TABLE %I.%I PARTITION OF %s FOR VALUES FROM (%L) TO (%L)', schema_name, part, parent, lower_bound, upper_bound);
  END LOOP;
END $$;
--> statement-breakpoint

-- platform.audit_log, partitioned by "at".
CREATE TABLE platform.audit_log_new (LIKE platform.audit_log INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY RANGE (at);
--> statement-breakpoint
-- Every month that holds rows gets its own partition, so the default one starts empty.
SELECT platform.ensure_monthly_partitions('platform.audit_log_new', greatest(1, coalesce((
  SELECT (extract(year FROM now() AT TIME ZONE 'UTC') * 12 + extract(month FROM now() AT TIME ZONE 'UTC'))
       - (extract(year FROM min(at) AT TIME ZONE 'UTC') * 12 + extract(month FROM min(at) AT TIME ZONE 'UTC'))
  FROM platform.audit_log)::int, 1)));
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
SELECT platform.ensure_monthly_partitions('platform.events_new', greatest(1, coalesce((
  SELECT (extract(year FROM now() AT TIME ZONE 'UTC') * 12 + extract(month FROM now() AT TIME ZONE 'UTC'))
       - (extract(year FROM min(occurred_at) AT TIME ZONE 'UTC') * 12 + extract(month FROM min(occurred_at) AT TIME ZONE 'UTC'))
  FROM platform.events)::int, 1)));
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
