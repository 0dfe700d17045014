CREATE TABLE "orders"."msisdns" (
	"msisdn" text PRIMARY KEY NOT NULL,
	"category" text DEFAULT 'standard' NOT NULL,
	"status" text DEFAULT 'available' NOT NULL,
	"reserved_for" text,
	"reserved_until" timestamp with time zone,
	"assigned_to" text,
	"quarantined_until" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "msisdns_status_check" CHECK ("orders"."msisdns"."status" in ('available', 'reserved', 'assigned', 'quarantined')),
	CONSTRAINT "msisdns_e164_check" CHECK ("orders"."msisdns"."msisdn" ~ '^\+[1-9][0-9]{6,14}$'),
	CONSTRAINT "msisdns_reserved_check" CHECK (("orders"."msisdns"."status" = 'reserved') = ("orders"."msisdns"."reserved_for" is not null and "orders"."msisdns"."reserved_until" is not null))
);
--> statement-breakpoint
CREATE TABLE "orders"."sims" (
	"iccid" text PRIMARY KEY NOT NULL,
	"imsi" text NOT NULL,
	"puk_enc" text NOT NULL,
	"status" text DEFAULT 'available' NOT NULL,
	"reserved_for" text,
	"reserved_until" timestamp with time zone,
	"assigned_to" text,
	"quarantined_until" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "sims_status_check" CHECK ("orders"."sims"."status" in ('available', 'reserved', 'assigned', 'quarantined')),
	CONSTRAINT "sims_reserved_check" CHECK (("orders"."sims"."status" = 'reserved') = ("orders"."sims"."reserved_for" is not null and "orders"."sims"."reserved_until" is not null))
);
--> statement-breakpoint
CREATE INDEX "msisdns_pick_idx" ON "orders"."msisdns" USING btree ("category","msisdn") WHERE status = 'available';--> statement-breakpoint
CREATE INDEX "msisdns_status_idx" ON "orders"."msisdns" USING btree ("status","reserved_until");--> statement-breakpoint
CREATE UNIQUE INDEX "sims_imsi_key" ON "orders"."sims" USING btree ("imsi");--> statement-breakpoint
CREATE INDEX "sims_pick_idx" ON "orders"."sims" USING btree ("iccid") WHERE status = 'available';--> statement-breakpoint
CREATE INDEX "sims_status_idx" ON "orders"."sims" USING btree ("status","reserved_until");