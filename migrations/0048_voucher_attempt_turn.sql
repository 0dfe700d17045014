-- A redemption attempt takes its account's turn, then looks at the lockouts of its keys. One
-- function, because the look must see every attempt that held the turn before: a statement's
-- snapshot is taken when it starts, and a plpgsql statement takes its own after the lock.
CREATE OR REPLACE FUNCTION vouchers.attempt_turn(turn text, keys text[]) RETURNS timestamptz LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended('vouchers.redemption:' || turn, 0));
  RETURN (SELECT max(locked_until) FROM vouchers.pin_failures WHERE key = ANY(keys) AND locked_until > now());
END $$;
