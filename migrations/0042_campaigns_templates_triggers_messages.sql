CREATE SCHEMA "campaigns";
--> statement-breakpoint
CREATE TABLE "campaigns"."message_attempts" (
	"id" uuid PRIMARY KEY NOT NULL,
	"message_id" uuid NOT NULL,
	"outcome" text NOT NULL,
	"response" text,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "campaigns"."messages" (
	"id" uuid PRIMARY KEY NOT NULL,
	"customer_id" uuid NOT NULL,
	"dedupe_key" text NOT NULL,
	"trigger_id" uuid,
	"event_id" uuid,
	"event_type" text,
	"channel" text NOT NULL,
	"kind" text NOT NULL,
	"language" text,
	"recipient" text,
	"subject" text,
	"body" text,
	"html" text,
	"state" text NOT NULL,
	"reason" text,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone,
	"provider_message_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"sent_at" timestamp with time zone,
	"delivered_at" timestamp with time zone,
	"failed_at" timestamp with time zone,
	CONSTRAINT "messages_state_check" CHECK ("campaigns"."messages"."state" in ('queued', 'sending', 'sent', 'delivered', 'failed', 'expired', 'held', 'skipped')
    and ("campaigns"."messages"."state" not in ('held', 'skipped', 'failed') or "campaigns"."messages"."reason" is not null)),
	CONSTRAINT "messages_channel_check" CHECK ("campaigns"."messages"."channel" in ('sms', 'email') and "campaigns"."messages"."kind" in ('transactional', 'marketing'))
);
--> statement-breakpoint
CREATE TABLE "campaigns"."templates" (
	"id" uuid PRIMARY KEY NOT NULL,
	"purpose" text NOT NULL,
	"channel" text NOT NULL,
	"language" text NOT NULL,
	"subject" text,
	"body" text NOT NULL,
	"html" text,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "templates_channel_check" CHECK ("campaigns"."templates"."channel" in ('sms', 'email') and ("campaigns"."templates"."channel" = 'email' or ("campaigns"."templates"."subject" is null and "campaigns"."templates"."html" is null))
    and ("campaigns"."templates"."channel" = 'sms' or "campaigns"."templates"."subject" is not null))
);
--> statement-breakpoint
CREATE TABLE "campaigns"."transactional_opt_outs" (
	"customer_id" uuid NOT NULL,
	"channel" text NOT NULL,
	"source" text NOT NULL,
	"recorded_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "transactional_opt_outs_customer_id_channel_pk" PRIMARY KEY("customer_id","channel")
);
--> statement-breakpoint
CREATE TABLE "campaigns"."triggers" (
	"id" uuid PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"event_type" text NOT NULL,
	"kind" text NOT NULL,
	"channels" jsonb NOT NULL,
	"conditions" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"active" boolean DEFAULT true NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "triggers_kind_check" CHECK ("campaigns"."triggers"."kind" in ('transactional', 'marketing'))
);
--> statement-breakpoint
ALTER TABLE "campaigns"."message_attempts" ADD CONSTRAINT "message_attempts_message_id_messages_id_fk" FOREIGN KEY ("message_id") REFERENCES "campaigns"."messages"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "campaigns"."messages" ADD CONSTRAINT "messages_trigger_id_triggers_id_fk" FOREIGN KEY ("trigger_id") REFERENCES "campaigns"."triggers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "message_attempts_message_idx" ON "campaigns"."message_attempts" USING btree ("message_id","at");--> statement-breakpoint
CREATE UNIQUE INDEX "messages_dedupe_key" ON "campaigns"."messages" USING btree ("dedupe_key");--> statement-breakpoint
CREATE INDEX "messages_customer_idx" ON "campaigns"."messages" USING btree ("customer_id","id");--> statement-breakpoint
CREATE INDEX "messages_state_idx" ON "campaigns"."messages" USING btree ("state","id");--> statement-breakpoint
CREATE UNIQUE INDEX "templates_key" ON "campaigns"."templates" USING btree ("purpose","channel","language");--> statement-breakpoint
CREATE INDEX "triggers_event_idx" ON "campaigns"."triggers" USING btree ("event_type") WHERE active;