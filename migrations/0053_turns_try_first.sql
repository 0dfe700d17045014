-- The turns of a redemption attempt and of an idempotency key are nearly always free: try for them
-- first, and only when one is taken set the wait's limit (lock_timeout) around a wait for it. Two
-- set_config calls fewer per turn in the common case; the behaviour is that of 0048 and 0051.
CREATE OR REPLACE FUNCTION vouchers.attempt_turn(turn text, keys text[]) RETURNS timestamptz LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  until timestamptz;
  waited text;
BEGIN
  SELECT max(locked_until) INTO until FROM vouchers.pin_failures WHERE key = ANY(keys) AND locked_until > now();
  IF until IS NOT NULL THEN
    RETURN until;
  END IF;
  IF NOT pg_try_advisory_xact_lock(hashtextextended('vouchers.redemption:' || turn, 0)) THEN
    waited := current_setting('lock_timeout');
    PERFORM set_config('lock_timeout', '300ms', true);
    PERFORM pg_advisory_xact_lock(hashtextextended('vouchers.redemption:' || turn, 0));
    PERFORM set_config('lock_timeout', waited, true);
  END IF;
  RETURN (SELECT max(locked_until) FROM vouchers.pin_failures WHERE key = ANY(keys) AND locked_until > now());
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION platform.idempotency_turn(p text, k text) RETURNS void LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  since timestamptz;
  waited text;
BEGIN
  IF NOT pg_try_advisory_xact_lock(hashtextextended('platform.idempotency:' || p || ':' || k, 0)) THEN
    waited := current_setting('lock_timeout');
    PERFORM set_config('lock_timeout', '1s', true);
    PERFORM pg_advisory_xact_lock(hashtextextended('platform.idempotency:' || p || ':' || k, 0));
    PERFORM set_config('lock_timeout', waited, true);
  END IF;
  SELECT created_at INTO since FROM platform.idempotency_keys WHERE principal = p AND key = k;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  IF since >= now() - interval '24 hours' THEN
    RAISE EXCEPTION 'idempotency key % is taken', k USING ERRCODE = 'IK409';
  END IF;
  DELETE FROM platform.idempotency_keys WHERE principal = p AND key = k;
END $$;
