CREATE TABLE "campaigns"."early_email_events" (
	"provider_message_id" text NOT NULL,
	"type" text NOT NULL,
	"reason" text,
	"occurred_at" timestamp with time zone NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "early_email_events_provider_message_id_type_pk" PRIMARY KEY("provider_message_id","type"),
	CONSTRAINT "early_email_events_type_check" CHECK ("campaigns"."early_email_events"."type" in ('delivered', 'bounced'))
);
