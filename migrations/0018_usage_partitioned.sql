-- billing.usage_records is partitioned by month of started_at (it is new and empty: recreate it so).
CREATE TABLE billing.usage_records_new (LIKE billing.usage_records INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY RANGE (started_at);
--> statement-breakpoint
DROP TABLE billing.usage_records;
--> statement-breakpoint
ALTER TABLE billing.usage_records_new RENAME TO usage_records;
--> statement-breakpoint
ALTER TABLE billing.usage_records ADD CONSTRAINT usage_records_id_started_at_pk PRIMARY KEY (id, started_at);
--> statement-breakpoint
CREATE INDEX usage_records_line_idx ON billing.usage_records (line_id, started_at);
--> statement-breakpoint
CREATE INDEX usage_records_unbilled_idx ON billing.usage_records (billing_account_id) WHERE billed_at IS NULL AND amount > 0;
--> statement-breakpoint
SELECT platform.ensure_monthly_partitions('billing.usage_records', 3, 3);
