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
ALTER TABLE "campaigns"."messages" ADD COLUMN "time_zone" text;--> statement-breakpoint
ALTER TABLE "campaigns"."message_parts" ADD CONSTRAINT "message_parts_message_id_messages_id_fk" FOREIGN KEY ("message_id") REFERENCES "campaigns"."messages"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "inbound_messages_received_idx" ON "campaigns"."inbound_messages" USING btree ("received_at");--> statement-breakpoint
CREATE UNIQUE INDEX "message_parts_provider_key" ON "campaigns"."message_parts" USING btree ("provider_message_id");--> statement-breakpoint
CREATE INDEX "tickets_customer_open_idx" ON "service"."tickets" USING btree ("customer_id","id") WHERE status in ('new', 'open', 'pending');