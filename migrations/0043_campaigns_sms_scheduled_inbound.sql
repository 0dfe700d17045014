CREATE TABLE "campaigns"."campaigns" (
	"id" uuid PRIMARY KEY NOT NULL,
	"code" text NOT NULL,
	"name" text NOT NULL,
	"kind" text DEFAULT 'marketing' NOT NULL,
	"channels" jsonb NOT NULL,
	"segment" jsonb NOT NULL,
	"status" text DEFAULT 'draft' NOT NULL,
	"scheduled_at" timestamp with time zone,
	"repeat_every_days" integer,
	"run" integer DEFAULT 1 NOT NULL,
	"cursor" uuid,
	"targeted" integer DEFAULT 0 NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	CONSTRAINT "campaigns_status_check" CHECK ("campaigns"."campaigns"."status" in ('draft', 'scheduled', 'running', 'paused', 'completed', 'cancelled') and ("campaigns"."campaigns"."repeat_every_days" is null or "campaigns"."campaigns"."repeat_every_days" > 0))
);
--> statement-breakpoint
CREATE TABLE "campaigns"."early_receipts" (
	"provider_message_id" text PRIMARY KEY NOT NULL,
	"state" text NOT NULL,
	"receipt" text NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "campaigns"."inbound_messages" (
	"id" uuid PRIMARY KEY NOT NULL,
	"channel" text NOT NULL,
	"sender" text NOT NULL,
	"recipient" text NOT NULL,
	"body" text NOT NULL,
	"customer_ids" jsonb NOT NULL,
	"keyword" text,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "campaigns"."message_parts" (
	"message_id" uuid NOT NULL,
	"part" integer NOT NULL,
	"provider_message_id" text NOT NULL,
	"state" text DEFAULT 'submitted' NOT NULL,
	"receipt" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "message_parts_message_id_part_pk" PRIMARY KEY("message_id","part"),
	CONSTRAINT "message_parts_state_check" CHECK ("campaigns"."message_parts"."state" in ('submitted', 'delivered', 'failed', 'expired'))
);
--> statement-breakpoint
DROP INDEX "campaigns"."messages_state_idx";--> statement-breakpoint
ALTER TABLE "campaigns"."messages" ADD COLUMN "campaign_id" uuid;--> statement-breakpoint
ALTER TABLE "campaigns"."messages" ADD COLUMN "time_zone" text;--> statement-breakpoint
ALTER TABLE "campaigns"."message_parts" ADD CONSTRAINT "message_parts_message_id_messages_id_fk" FOREIGN KEY ("message_id") REFERENCES "campaigns"."messages"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "campaigns_code_key" ON "campaigns"."campaigns" USING btree ("code");--> statement-breakpoint
CREATE INDEX "inbound_messages_received_idx" ON "campaigns"."inbound_messages" USING btree ("received_at");--> statement-breakpoint
CREATE UNIQUE INDEX "message_parts_provider_key" ON "campaigns"."message_parts" USING btree ("provider_message_id");--> statement-breakpoint
ALTER TABLE "campaigns"."messages" ADD CONSTRAINT "messages_campaign_id_campaigns_id_fk" FOREIGN KEY ("campaign_id") REFERENCES "campaigns"."campaigns"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "messages_campaign_idx" ON "campaigns"."messages" USING btree ("campaign_id","state","id") WHERE campaign_id is not null;--> statement-breakpoint
CREATE INDEX "messages_marketing_sent_idx" ON "campaigns"."messages" USING btree ("customer_id","sent_at") WHERE kind = 'marketing' and sent_at is not null;--> statement-breakpoint
CREATE INDEX "tickets_customer_open_idx" ON "service"."tickets" USING btree ("customer_id","id") WHERE status in ('new', 'open', 'pending');--> statement-breakpoint
CREATE INDEX "messages_state_idx" ON "campaigns"."messages" USING btree ("state","id") WHERE state in ('failed', 'expired', 'held', 'sending');