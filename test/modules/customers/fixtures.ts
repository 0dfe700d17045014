import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import type { Response } from 'supertest';
import type { TestApp } from '../../support/app.js';

let seq = 0;
const base = String(10_000 + Math.floor(Math.random() * 89_999));
/** A unique 9-digit suffix, so numbers and e-mails never collide inside one test database. */
const unique = () => `${base}${String(++seq).padStart(4, '0')}`;

/** A valid E.164 UK mobile number, different on each call. */
export const phone = () => `+447${unique()}`;
export const email = (name = 'user') => `${name}.${unique()}@example.com`;

/** The body of a minimal valid individual; overrides replace top-level fields. */
export function individual(overrides: Record<string, unknown> = {}) {
  return {
    type: 'individual',
    givenName: 'Ada',
    familyName: `Lovelace${unique()}`,
    contactPoints: [{ kind: 'phone', value: phone(), isPrimary: true }],
    ...overrides,
  };
}

export function business(overrides: Record<string, unknown> = {}) {
  return { type: 'business', segment: 'enterprise', companyName: `Acme ${unique()} Ltd`, ...overrides };
}

/** Creates a customer as admin (or with the given bearer header) and returns the response body. */
export async function create(t: TestApp, body: Record<string, unknown> = individual(), auth?: string) {
  const req = t.http.post('/v1/customers');
  if (auth) req.set('authorization', auth);
  const res = await req.send(body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as Customer;
}

export const newPartnerId = () => randomUUID();

export interface Customer {
  id: string;
  type: string;
  segment: string;
  status: string;
  displayName: string;
  partnerId: string | null;
  givenName: string | null;
  familyName: string | null;
  companyName: string | null;
  dateOfBirth: string | null;
  contactPoints: { id: string; kind: string; value: string; isPrimary: boolean }[];
  addresses: { id: string; kind: string; city: string }[];
  identityDocuments: { id: string; kind: string; numberMasked: string }[];
  consents: { channel: string; granted: boolean; source: string }[];
  billingAccounts: { id: string; type: string; billCycleDay: number | null; status: string }[];
}

/**
 * Every event of a type, following the feed's cursor to the end. The feed holds events back while
 * any older transaction in the cluster (another test file's, too) is open, so read until it has
 * caught up with what this database holds.
 */
export async function eventsOf(t: TestApp, type: string) {
  const [{ n }] = await t.database.sql`select count(*)::int as n from platform.events where type = ${type}` as unknown as [{ n: number }];
  const deadline = Date.now() + 10_000;
  for (;;) {
    const all: { id: string; type: string; aggregateId: string | null; payload: Record<string, unknown> }[] = [];
    let cursor: string | null = null;
    for (;;) {
      const res: Response = await t.http.get('/v1/events').query({ type, limit: 200, ...(cursor ? { cursor } : {}) }).expect(200);
      all.push(...res.body.items);
      cursor = res.body.nextCursor;
      if (!res.body.items.length || all.length >= n) break;
    }
    if (all.length >= n || Date.now() > deadline) return all;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** "METHOD path -> status body", for assertion messages. */
export function said(res: Response) {
  const req = (res as unknown as { req?: { method?: string; path?: string } }).req;
  return `${req?.method} ${req?.path} -> ${res.status} ${JSON.stringify(res.body)}`;
}
