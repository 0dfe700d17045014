ALTER TABLE "billing"."balances" ADD COLUMN "closed_at" timestamp with time zone;--> statement-breakpoint
-- The balances of accounts closed before: closed now.
UPDATE "billing"."balances" b SET "closed_at" = now() FROM "customers"."billing_accounts" a WHERE a."id" = b."billing_account_id" AND a."status" <> 'active';
