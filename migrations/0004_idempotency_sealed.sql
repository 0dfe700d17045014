ALTER TABLE "platform"."idempotency_keys" ADD COLUMN "response_sealed" text;--> statement-breakpoint
ALTER TABLE "platform"."idempotency_keys" ADD COLUMN "resource_id" text;--> statement-breakpoint
CREATE INDEX "idempotency_keys_resource_idx" ON "platform"."idempotency_keys" USING btree ("resource_id");