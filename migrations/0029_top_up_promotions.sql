CREATE TABLE "vouchers"."top_up_promotions" (
	"id" uuid PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"min_amount" bigint NOT NULL,
	"currency" text NOT NULL,
	"first_only" boolean NOT NULL,
	"reward_add_on_id" uuid,
	"reward_credit" bigint,
	"valid_from" timestamp with time zone,
	"valid_until" timestamp with time zone,
	"max_rewards" integer,
	"rewards" integer DEFAULT 0 NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "top_up_promotions_reward_check" CHECK (("vouchers"."top_up_promotions"."reward_add_on_id" is null) <> ("vouchers"."top_up_promotions"."reward_credit" is null) and ("vouchers"."top_up_promotions"."reward_credit" is null or "vouchers"."top_up_promotions"."reward_credit" > 0)),
	CONSTRAINT "top_up_promotions_budget_check" CHECK ("vouchers"."top_up_promotions"."max_rewards" is null or "vouchers"."top_up_promotions"."rewards" <= "vouchers"."top_up_promotions"."max_rewards")
);
--> statement-breakpoint
CREATE TABLE "vouchers"."top_up_rewards" (
	"promotion_id" uuid NOT NULL,
	"entry_id" uuid NOT NULL,
	"billing_account_id" uuid NOT NULL,
	"outcome" text NOT NULL,
	"detail" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "top_up_rewards_promotion_id_entry_id_pk" PRIMARY KEY("promotion_id","entry_id")
);
--> statement-breakpoint
ALTER TABLE "vouchers"."top_up_rewards" ADD CONSTRAINT "top_up_rewards_promotion_id_top_up_promotions_id_fk" FOREIGN KEY ("promotion_id") REFERENCES "vouchers"."top_up_promotions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "top_up_rewards_account_idx" ON "vouchers"."top_up_rewards" USING btree ("promotion_id","billing_account_id") WHERE outcome = 'given';