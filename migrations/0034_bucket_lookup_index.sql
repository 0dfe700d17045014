DROP INDEX "orders"."allowance_buckets_line_idx";--> statement-breakpoint
CREATE INDEX "allowance_buckets_pack_idx" ON "orders"."allowance_buckets" USING btree ("line_add_on_id") WHERE line_add_on_id is not null;--> statement-breakpoint
CREATE INDEX "allowance_buckets_line_idx" ON "orders"."allowance_buckets" USING btree ("line_id","usage_type","zone","valid_until");