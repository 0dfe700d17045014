CREATE TABLE "campaigns"."send_rates" (
	"name" text PRIMARY KEY NOT NULL,
	"spacing" interval NOT NULL,
	"tat" timestamp with time zone NOT NULL
);
