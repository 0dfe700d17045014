CREATE SCHEMA "vouchers";
--> statement-breakpoint
CREATE TABLE "vouchers"."pin_exports" (
	"batch_id" uuid NOT NULL,
	"serial" bigint NOT NULL,
	"pin_sealed" text NOT NULL,
	CONSTRAINT "pin_exports_batch_id_serial_pk" PRIMARY KEY("batch_id","serial")
);
--> statement-breakpoint
CREATE TABLE "vouchers"."pin_failures" (
	"key" text PRIMARY KEY NOT NULL,
	"window_start" timestamp with time zone NOT NULL,
	"failures" integer NOT NULL,
	"locked_until" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "vouchers"."serial_counter" (
	"id" integer PRIMARY KEY DEFAULT 1 NOT NULL,
	"last" bigint NOT NULL,
	CONSTRAINT "serial_counter_single_row" CHECK ("vouchers"."serial_counter"."id" = 1)
);
--> statement-breakpoint
CREATE TABLE "vouchers"."voucher_batches" (
	"id" uuid PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"face_value" bigint NOT NULL,
	"currency" text NOT NULL,
	"quantity" integer NOT NULL,
	"pin_length" integer NOT NULL,
	"serial_from" bigint NOT NULL,
	"serial_to" bigint NOT NULL,
	"valid_from" timestamp with time zone NOT NULL,
	"valid_until" timestamp with time zone NOT NULL,
	"status" text DEFAULT 'generating' NOT NULL,
	"generated" integer DEFAULT 0 NOT NULL,
	"pins_downloaded_at" timestamp with time zone,
	"pins_downloaded_by" text,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "voucher_batches_value_check" CHECK ("vouchers"."voucher_batches"."face_value" > 0 and "vouchers"."voucher_batches"."currency" ~ '^[A-Z]{3}$'),
	CONSTRAINT "voucher_batches_quantity_check" CHECK ("vouchers"."voucher_batches"."quantity" between 1 and 1000000 and "vouchers"."voucher_batches"."generated" between 0 and "vouchers"."voucher_batches"."quantity"),
	CONSTRAINT "voucher_batches_serials_check" CHECK ("vouchers"."voucher_batches"."serial_to" - "vouchers"."voucher_batches"."serial_from" + 1 = "vouchers"."voucher_batches"."quantity"),
	CONSTRAINT "voucher_batches_validity_check" CHECK ("vouchers"."voucher_batches"."valid_until" > "vouchers"."voucher_batches"."valid_from"),
	CONSTRAINT "voucher_batches_status_check" CHECK ("vouchers"."voucher_batches"."status" in ('generating', 'generated', 'failed'))
);
--> statement-breakpoint
CREATE TABLE "vouchers"."vouchers" (
	"serial" bigint PRIMARY KEY NOT NULL,
	"batch_id" uuid NOT NULL,
	"pin_hash" "bytea" NOT NULL,
	"state" text DEFAULT 'generated' NOT NULL,
	"partner_id" uuid,
	"valid_from" timestamp with time zone NOT NULL,
	"valid_until" timestamp with time zone NOT NULL,
	"blocked_from" text,
	"activated_at" timestamp with time zone,
	"redeemed_at" timestamp with time zone,
	"redeemed_billing_account_id" uuid,
	"redeemed_line_id" uuid,
	"redeemed_by" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "vouchers_state_check" CHECK ("vouchers"."vouchers"."state" in ('generated', 'in_stock', 'distributed', 'active', 'redeemed', 'expired', 'blocked')),
	CONSTRAINT "vouchers_blocked_check" CHECK (("vouchers"."vouchers"."state" = 'blocked') = ("vouchers"."vouchers"."blocked_from" is not null)),
	CONSTRAINT "vouchers_redeemed_check" CHECK (("vouchers"."vouchers"."state" = 'redeemed') = ("vouchers"."vouchers"."redeemed_at" is not null))
);
--> statement-breakpoint
ALTER TABLE "vouchers"."pin_exports" ADD CONSTRAINT "pin_exports_batch_id_voucher_batches_id_fk" FOREIGN KEY ("batch_id") REFERENCES "vouchers"."voucher_batches"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "vouchers"."vouchers" ADD CONSTRAINT "vouchers_batch_id_voucher_batches_id_fk" FOREIGN KEY ("batch_id") REFERENCES "vouchers"."voucher_batches"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "vouchers_pin_hash_key" ON "vouchers"."vouchers" USING btree ("pin_hash");--> statement-breakpoint
CREATE INDEX "vouchers_batch_idx" ON "vouchers"."vouchers" USING btree ("batch_id","serial");--> statement-breakpoint
CREATE INDEX "vouchers_partner_idx" ON "vouchers"."vouchers" USING btree ("partner_id","serial") WHERE partner_id is not null;--> statement-breakpoint
CREATE INDEX "vouchers_expiry_idx" ON "vouchers"."vouchers" USING btree ("valid_until") WHERE state in ('generated', 'in_stock', 'distributed', 'active');