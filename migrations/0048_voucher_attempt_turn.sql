-- A redemption attempt takes its account's turn, then looks at the lockouts of its keys. One
-- function, because the look must see every attempt that held the turn before: a statement's
-- snapshot is taken when it starts, and a plpgsql statement takes its own after the lock.
-- A key already locked out is answered without waiting; the turn is waited for briefly only
-- (lock_timeout, 55P03: "busy"), so that a burst on one account cannot hold the pool's connections.
CREATE OR REPLACE FUNCTION vouchers.attempt_turn(turn text, keys text[]) RETURNS timestamptz LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  until timestamptz;
  waited text := current_setting('lock_timeout');
BEGIN
  SELECT max(locked_until) INTO until FROM vouchers.pin_failures WHERE key = ANY(keys) AND locked_until > now();
  IF until IS NOT NULL THEN
    RETURN until;
  END IF;
  PERFORM set_config('lock_timeout', '300ms', true);
  PERFORM pg_advisory_xact_lock(hashtextextended('vouchers.redemption:' || turn, 0));
  PERFORM set_config('lock_timeout', waited, true);
  RETURN (SELECT max(locked_until) FROM vouchers.pin_failures WHERE key = ANY(keys) AND locked_until > now());
END $$;
