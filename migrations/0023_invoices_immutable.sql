-- An issued invoice is evidence: only what was paid on it, what credit notes took off, and the
-- dunning steps taken may change. Its lines and credit notes are never rewritten or removed.
CREATE OR REPLACE FUNCTION billing.invoice_settlement_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (to_jsonb(NEW) - 'paid' - 'credited' - 'dunning') <> (to_jsonb(OLD) - 'paid' - 'credited' - 'dunning') THEN
    RAISE EXCEPTION 'an issued invoice is immutable: correct it by a credit note' USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END $$;
--> statement-breakpoint
CREATE TRIGGER invoices_settlement_only BEFORE UPDATE ON billing.invoices
  FOR EACH ROW EXECUTE FUNCTION billing.invoice_settlement_only();
--> statement-breakpoint
CREATE TRIGGER invoices_no_delete BEFORE DELETE ON billing.invoices
  FOR EACH ROW EXECUTE FUNCTION platform.refuse_change();
--> statement-breakpoint
CREATE TRIGGER invoice_lines_append_only BEFORE UPDATE OR DELETE ON billing.invoice_lines
  FOR EACH ROW EXECUTE FUNCTION platform.refuse_change();
--> statement-breakpoint
CREATE TRIGGER credit_notes_append_only BEFORE UPDATE OR DELETE ON billing.credit_notes
  FOR EACH ROW EXECUTE FUNCTION platform.refuse_change();
