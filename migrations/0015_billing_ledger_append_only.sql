-- The ledger is the evidence behind every balance: nothing may rewrite or remove an entry.
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON billing.ledger_entries
  FOR EACH ROW EXECUTE FUNCTION platform.refuse_change();
--> statement-breakpoint
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON billing.ledger_entries
  FOR EACH STATEMENT EXECUTE FUNCTION platform.refuse_change();
