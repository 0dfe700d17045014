-- The turns of a group of redemptions taken in one statement (vouchers/redemption-groups): tried
-- only, never waited for, and never raising. A member whose turn is taken, or whose key is answered
-- already, or who is locked out, is left out of the group and redeems on its own, where it waits
-- for its turns and is answered as before (attempt_turn, idempotency_turn). The lookups after the
-- lock are statements of their own: a statement's snapshot is taken before the lock is had, and
-- would not see what the turn's last holder committed.
CREATE FUNCTION vouchers.attempt_try_turn(turn text, keys text[]) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  IF NOT pg_try_advisory_xact_lock(hashtextextended('vouchers.redemption:' || turn, 0)) THEN
    RETURN false;
  END IF;
  RETURN NOT EXISTS (SELECT 1 FROM vouchers.pin_failures WHERE key = ANY(keys) AND locked_until > now());
END $$;
--> statement-breakpoint
CREATE FUNCTION platform.idempotency_try_turn(p text, k text) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  IF NOT pg_try_advisory_xact_lock(hashtextextended('platform.idempotency:' || p || ':' || k, 0)) THEN
    RETURN false;
  END IF;
  RETURN NOT EXISTS (SELECT 1 FROM platform.idempotency_keys WHERE principal = p AND key = k);
END $$;
