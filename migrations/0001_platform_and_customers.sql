CREATE SCHEMA "platform";
--> statement-breakpoint
CREATE SCHEMA "customers";
--> statement-breakpoint
CREATE TABLE "platform"."audit_log" (
	"id" uuid PRIMARY KEY NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"actor_kind" text NOT NULL,
	"actor_id" text NOT NULL,
	"action" text NOT NULL,
	"entity_type" text NOT NULL,
	"entity_id" text NOT NULL,
	"request_id" text,
	"details" jsonb DEFAULT '{}'::jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "platform"."api_keys" (
	"id" uuid PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"key_hash" text NOT NULL,
	"prefix" text NOT NULL,
	"principal_kind" text NOT NULL,
	"role" text,
	"staff_user_id" uuid,
	"partner_id" uuid,
	"customer_id" uuid,
	"capabilities" text[] DEFAULT '{}'::text[] NOT NULL,
	"created_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone,
	"last_used_at" timestamp with time zone,
	"revoked_at" timestamp with time zone,
	CONSTRAINT "api_keys_kind_check" CHECK (
    ("platform"."api_keys"."principal_kind" = 'staff' and "platform"."api_keys"."role" is not null)
    or ("platform"."api_keys"."principal_kind" = 'partner' and "platform"."api_keys"."partner_id" is not null)
    or ("platform"."api_keys"."principal_kind" = 'customer' and "platform"."api_keys"."customer_id" is not null)
    or ("platform"."api_keys"."principal_kind" = 'integration' and cardinality("platform"."api_keys"."capabilities") > 0))
);
--> statement-breakpoint
CREATE TABLE "platform"."staff_users" (
	"id" uuid PRIMARY KEY NOT NULL,
	"email" text NOT NULL,
	"display_name" text NOT NULL,
	"role" text NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"password_hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "staff_users_role_check" CHECK ("platform"."staff_users"."role" in ('admin','supervisor','csr','marketing')),
	CONSTRAINT "staff_users_status_check" CHECK ("platform"."staff_users"."status" in ('active','disabled'))
);
--> statement-breakpoint
CREATE TABLE "platform"."settings" (
	"name" text PRIMARY KEY NOT NULL,
	"value" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "platform"."event_deliveries" (
	"event_id" uuid NOT NULL,
	"subscriber" text NOT NULL,
	"delivered_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "event_deliveries_event_id_subscriber_pk" PRIMARY KEY("event_id","subscriber")
);
--> statement-breakpoint
CREATE TABLE "platform"."events" (
	"id" uuid PRIMARY KEY NOT NULL,
	"type" text NOT NULL,
	"aggregate_id" text,
	"payload" jsonb NOT NULL,
	"occurred_at" timestamp with time zone DEFAULT now() NOT NULL,
	"request_id" text
);
--> statement-breakpoint
CREATE TABLE "platform"."idempotency_keys" (
	"principal" text NOT NULL,
	"key" text NOT NULL,
	"request_hash" text NOT NULL,
	"state" text NOT NULL,
	"response_status" integer,
	"response_body" jsonb,
	"response_headers" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "idempotency_keys_principal_key_pk" PRIMARY KEY("principal","key")
);
--> statement-breakpoint
CREATE TABLE "customers"."addresses" (
	"id" uuid PRIMARY KEY NOT NULL,
	"customer_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"line1" text NOT NULL,
	"line2" text,
	"city" text NOT NULL,
	"postcode" text,
	"region" text,
	"country" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "addresses_country_check" CHECK ("customers"."addresses"."country" ~ '^[A-Z]{2}$')
);
--> statement-breakpoint
CREATE TABLE "customers"."billing_accounts" (
	"id" uuid PRIMARY KEY NOT NULL,
	"customer_id" uuid NOT NULL,
	"name" text NOT NULL,
	"type" text NOT NULL,
	"currency" text NOT NULL,
	"bill_cycle_day" integer,
	"status" text DEFAULT 'active' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "billing_accounts_type_check" CHECK ("customers"."billing_accounts"."type" in ('prepaid', 'postpaid')),
	CONSTRAINT "billing_accounts_currency_check" CHECK ("customers"."billing_accounts"."currency" ~ '^[A-Z]{3}$'),
	CONSTRAINT "billing_accounts_cycle_check" CHECK (("customers"."billing_accounts"."type" = 'postpaid' and "customers"."billing_accounts"."bill_cycle_day" between 1 and 28) or ("customers"."billing_accounts"."type" = 'prepaid' and "customers"."billing_accounts"."bill_cycle_day" is null)),
	CONSTRAINT "billing_accounts_status_check" CHECK ("customers"."billing_accounts"."status" in ('active', 'closed'))
);
--> statement-breakpoint
CREATE TABLE "customers"."consent_history" (
	"id" uuid PRIMARY KEY NOT NULL,
	"customer_id" uuid NOT NULL,
	"channel" text NOT NULL,
	"granted" boolean NOT NULL,
	"source" text NOT NULL,
	"actor" text NOT NULL,
	"recorded_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "customers"."consents" (
	"customer_id" uuid NOT NULL,
	"channel" text NOT NULL,
	"granted" boolean NOT NULL,
	"source" text NOT NULL,
	"recorded_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "consents_customer_id_channel_pk" PRIMARY KEY("customer_id","channel"),
	CONSTRAINT "consents_channel_check" CHECK ("customers"."consents"."channel" in ('sms', 'email', 'push'))
);
--> statement-breakpoint
CREATE TABLE "customers"."contact_points" (
	"id" uuid PRIMARY KEY NOT NULL,
	"customer_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"value" text NOT NULL,
	"is_primary" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "contact_points_kind_check" CHECK ("customers"."contact_points"."kind" in ('phone', 'email'))
);
--> statement-breakpoint
CREATE TABLE "customers"."customers" (
	"id" uuid PRIMARY KEY NOT NULL,
	"type" text NOT NULL,
	"segment" text DEFAULT 'consumer' NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"given_name" text,
	"family_name" text,
	"company_name" text,
	"preferred_language" text DEFAULT 'en' NOT NULL,
	"time_zone" text DEFAULT 'UTC' NOT NULL,
	"date_of_birth_enc" text,
	"partner_id" uuid,
	"name_search" text GENERATED ALWAYS AS (lower(coalesce(given_name, '') || ' ' || coalesce(family_name, '') || ' ' || coalesce(company_name, ''))) STORED,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"erased_at" timestamp with time zone,
	CONSTRAINT "customers_type_check" CHECK ("customers"."customers"."type" in ('individual', 'business')),
	CONSTRAINT "customers_segment_check" CHECK ("customers"."customers"."segment" in ('consumer', 'vip', 'enterprise')),
	CONSTRAINT "customers_status_check" CHECK ("customers"."customers"."status" in ('active', 'suspended', 'closed', 'erased'))
);
--> statement-breakpoint
CREATE TABLE "customers"."identity_documents" (
	"id" uuid PRIMARY KEY NOT NULL,
	"customer_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"number_enc" text NOT NULL,
	"number_hash" text NOT NULL,
	"number_last4" text NOT NULL,
	"issuing_country" text NOT NULL,
	"expires_on" date,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "platform"."api_keys" ADD CONSTRAINT "api_keys_staff_user_id_staff_users_id_fk" FOREIGN KEY ("staff_user_id") REFERENCES "platform"."staff_users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "customers"."addresses" ADD CONSTRAINT "addresses_customer_id_customers_id_fk" FOREIGN KEY ("customer_id") REFERENCES "customers"."customers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "customers"."billing_accounts" ADD CONSTRAINT "billing_accounts_customer_id_customers_id_fk" FOREIGN KEY ("customer_id") REFERENCES "customers"."customers"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "customers"."consent_history" ADD CONSTRAINT "consent_history_customer_id_customers_id_fk" FOREIGN KEY ("customer_id") REFERENCES "customers"."customers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "customers"."consents" ADD CONSTRAINT "consents_customer_id_customers_id_fk" FOREIGN KEY ("customer_id") REFERENCES "customers"."customers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "customers"."contact_points" ADD CONSTRAINT "contact_points_customer_id_customers_id_fk" FOREIGN KEY ("customer_id") REFERENCES "customers"."customers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "customers"."identity_documents" ADD CONSTRAINT "identity_documents_customer_id_customers_id_fk" FOREIGN KEY ("customer_id") REFERENCES "customers"."customers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "audit_log_entity_idx" ON "platform"."audit_log" USING btree ("entity_type","entity_id","id");--> statement-breakpoint
CREATE INDEX "audit_log_actor_idx" ON "platform"."audit_log" USING btree ("actor_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "api_keys_key_hash_key" ON "platform"."api_keys" USING btree ("key_hash");--> statement-breakpoint
CREATE INDEX "api_keys_created_at_idx" ON "platform"."api_keys" USING btree ("created_at","id");--> statement-breakpoint
CREATE UNIQUE INDEX "staff_users_email_key" ON "platform"."staff_users" USING btree (lower("email"));--> statement-breakpoint
CREATE INDEX "events_type_idx" ON "platform"."events" USING btree ("type","id");--> statement-breakpoint
CREATE INDEX "idempotency_keys_created_at_idx" ON "platform"."idempotency_keys" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "addresses_customer_idx" ON "customers"."addresses" USING btree ("customer_id");--> statement-breakpoint
CREATE INDEX "billing_accounts_customer_idx" ON "customers"."billing_accounts" USING btree ("customer_id");--> statement-breakpoint
CREATE INDEX "consent_history_customer_idx" ON "customers"."consent_history" USING btree ("customer_id","id");--> statement-breakpoint
CREATE INDEX "contact_points_value_idx" ON "customers"."contact_points" USING btree ("kind","value");--> statement-breakpoint
CREATE INDEX "contact_points_customer_idx" ON "customers"."contact_points" USING btree ("customer_id");--> statement-breakpoint
CREATE INDEX "customers_partner_idx" ON "customers"."customers" USING btree ("partner_id","id");--> statement-breakpoint
CREATE INDEX "customers_name_search_idx" ON "customers"."customers" USING gin ("name_search" gin_trgm_ops);--> statement-breakpoint
CREATE INDEX "identity_documents_hash_idx" ON "customers"."identity_documents" USING btree ("number_hash");--> statement-breakpoint
CREATE INDEX "identity_documents_customer_idx" ON "customers"."identity_documents" USING btree ("customer_id");