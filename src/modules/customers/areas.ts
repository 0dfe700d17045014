import { type SQL, sql } from 'drizzle-orm';

/** A list as a text[] parameter, lower-cased: compared without regard to case. */
export const lowered = (list: string[]) => sql.param(list.map((v) => v.toLowerCase()));

/**
 * An address `ad` that places its customer in one of these areas: a home, installation or billing
 * address in one of the postcodes or regions (case ignored). Outages and campaign segments alike.
 */
export function addressInAreas(areas: { postcodes?: string[]; regions?: string[] }): SQL {
  const arms = [
    areas.postcodes?.length ? sql`lower(ad.postcode) = any(${lowered(areas.postcodes)}::text[])` : undefined,
    areas.regions?.length ? sql`lower(ad.region) = any(${lowered(areas.regions)}::text[])` : undefined,
  ].filter((a): a is SQL => a !== undefined);
  return sql`ad.kind in ('home', 'installation', 'billing') and (${sql.join(arms, sql` or `)})`;
}
