CREATE UNIQUE INDEX "contact_points_one_primary_key" ON "customers"."contact_points" USING btree ("customer_id","kind") WHERE is_primary;--> statement-breakpoint
-- Consent history is evidence too: appended, never rewritten.
CREATE TRIGGER consent_history_append_only BEFORE UPDATE ON customers.consent_history
  FOR EACH ROW EXECUTE FUNCTION platform.refuse_change();
