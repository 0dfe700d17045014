-- Rating updates a bucket's `used` in every batch that touches its line. With room left in each
-- page the new row version stays on it (a HOT update) and neither of the bucket's indexes gets a
-- new entry; full pages send every update to another page and into both indexes. Applies to
-- pages written from now on.
ALTER TABLE orders.allowance_buckets SET (fillfactor = 80);
