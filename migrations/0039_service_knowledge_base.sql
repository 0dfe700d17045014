CREATE TABLE "service"."articles" (
	"id" uuid PRIMARY KEY NOT NULL,
	"slug" text NOT NULL,
	"language" text NOT NULL,
	"title" text NOT NULL,
	"body" text NOT NULL,
	"topic" text NOT NULL,
	"visibility" text NOT NULL,
	"status" text DEFAULT 'draft' NOT NULL,
	"search" "tsvector" GENERATED ALWAYS AS (to_tsvector(case language when 'de' then 'german'::regconfig when 'fr' then 'french'::regconfig
    when 'es' then 'spanish'::regconfig when 'it' then 'italian'::regconfig when 'nl' then 'dutch'::regconfig when 'pt' then 'portuguese'::regconfig
    else 'english'::regconfig end, title || ' ' || body)) STORED,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"published_at" timestamp with time zone,
	CONSTRAINT "articles_language_check" CHECK ("service"."articles"."language" in ('en', 'de', 'fr', 'es', 'it', 'nl', 'pt'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX "articles_slug_language_key" ON "service"."articles" USING btree ("slug","language");--> statement-breakpoint
CREATE INDEX "articles_search_idx" ON "service"."articles" USING gin ("search");