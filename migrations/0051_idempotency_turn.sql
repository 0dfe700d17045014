-- A request whose key is written in its own transaction (see platform/http/idempotency.ts) first
-- takes the key's turn: a request with the same key still running is waited for (a second at
-- most: 55P03, so that copies cannot hold the pool), and one that has answered is refused
-- (IK409), so that the caller replays its answer. A key past the replay window is forgotten
-- here, under the turn, so that the answer's INSERT meets no old row.
-- One function, because the look must see the answer of the request that held the turn before:
-- a plpgsql statement takes its snapshot after the lock.
CREATE OR REPLACE FUNCTION platform.idempotency_turn(p text, k text) RETURNS void LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  since timestamptz;
  waited text := current_setting('lock_timeout');
BEGIN
  PERFORM set_config('lock_timeout', '1s', true);
  PERFORM pg_advisory_xact_lock(hashtextextended('platform.idempotency:' || p || ':' || k, 0));
  PERFORM set_config('lock_timeout', waited, true);
  SELECT created_at INTO since FROM platform.idempotency_keys WHERE principal = p AND key = k;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  IF since >= now() - interval '24 hours' THEN
    RAISE EXCEPTION 'idempotency key % is taken', k USING ERRCODE = 'IK409';
  END IF;
  DELETE FROM platform.idempotency_keys WHERE principal = p AND key = k;
END $$;
