ALTER TABLE "service"."incidents" ADD COLUMN "alert" jsonb;--> statement-breakpoint
CREATE INDEX "interactions_started_idx" ON "service"."interactions" USING btree ("started_at");--> statement-breakpoint
CREATE INDEX "tickets_created_idx" ON "service"."tickets" USING btree ("created_at");