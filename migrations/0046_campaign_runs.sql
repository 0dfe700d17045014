ALTER TABLE "campaigns"."messages" ADD COLUMN "campaign_run" integer;--> statement-breakpoint
-- A campaign message's key is campaign:<id>:<run>:<customer>.
UPDATE "campaigns"."messages" SET "campaign_run" = split_part("dedupe_key", ':', 3)::integer WHERE "campaign_id" IS NOT NULL;--> statement-breakpoint
ALTER TABLE "campaigns"."conversions" ADD COLUMN "run" integer;--> statement-breakpoint
UPDATE "campaigns"."conversions" c SET "run" = coalesce((SELECT max(m."campaign_run") FROM "campaigns"."messages" m
  WHERE m."campaign_id" = c."campaign_id" AND m."customer_id" = c."customer_id" AND m."sent_at" <= c."at"), 1);--> statement-breakpoint
ALTER TABLE "campaigns"."conversions" ALTER COLUMN "run" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "campaigns"."conversions" DROP CONSTRAINT "conversions_campaign_id_customer_id_pk";--> statement-breakpoint
ALTER TABLE "campaigns"."conversions" ADD CONSTRAINT "conversions_campaign_id_run_customer_id_pk" PRIMARY KEY("campaign_id","run","customer_id");
