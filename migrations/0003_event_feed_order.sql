DROP INDEX "platform"."events_type_idx";--> statement-breakpoint
ALTER TABLE "platform"."events" ADD COLUMN "txid" bigint DEFAULT pg_current_xact_id()::text::bigint NOT NULL;--> statement-breakpoint
CREATE INDEX "events_feed_idx" ON "platform"."events" USING btree ("txid","id");--> statement-breakpoint
CREATE INDEX "events_type_idx" ON "platform"."events" USING btree ("type","txid","id");--> statement-breakpoint
ALTER TABLE "platform"."idempotency_keys" DROP COLUMN "response_body";