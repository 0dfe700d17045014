import { asc, eq, sql } from 'drizzle-orm';
import { audit } from '../../platform/audit/audit.js';
import { customerScope } from '../../platform/auth/permissions.js';
import type { Ctx } from '../../platform/context.js';
import { emit } from '../../platform/events/events.js';
import { blankIdempotentResponses } from '../../platform/http/idempotency.js';
import { revokeCustomerKeys } from '../../platform/auth/service.js';
import { customerErrors } from './errors.js';
import { type CustomerDeps, loadView, lockVisibleCustomer } from './service.js';
import { addresses, consentHistory, contactPoints, customers, identityDocuments } from './tables.js';

/** Everything this module holds about a customer, decrypted: the GDPR right of access. */
export async function exportCustomer(deps: CustomerDeps, ctx: Ctx, id: string) {
  return deps.db.transaction(async (tx) => {
    const view = await loadView(tx, deps.crypto, id, customerScope(ctx.principal));
    if (!view) throw customerErrors.customer_not_found();
    const docs = await tx.select().from(identityDocuments).where(eq(identityDocuments.customerId, id)).orderBy(asc(identityDocuments.id));
    const history = await tx.select().from(consentHistory).where(eq(consentHistory.customerId, id)).orderBy(asc(consentHistory.id));
    await audit(tx, ctx, { action: 'customer.exported', entityType: 'customer', entityId: id });
    return {
      exportedAt: new Date(),
      customer: {
        ...view,
        identityDocuments: docs.map((d) => ({
          id: d.id, kind: d.kind, number: deps.crypto.decrypt(d.numberEnc), issuingCountry: d.issuingCountry, expiresOn: d.expiresOn, createdAt: d.createdAt,
        })),
        consentHistory: history.map(({ customerId: _c, ...h }) => h),
      },
    };
  });
}

/**
 * The right to erasure: personal data is removed or pseudonymised; ids, billing accounts and the
 * consent history (which holds no personal data) stay, so financial records remain whole.
 * Other modules erase their share when they see `customer.erased`.
 */
export async function eraseCustomer(deps: CustomerDeps, ctx: Ctx, id: string) {
  return deps.db.transaction(async (tx) => {
    const current = await lockVisibleCustomer(tx, ctx, id);
    if (current.status === 'erased') return { id, status: 'erased' as const, erasedAt: current.erasedAt! };
    await tx.delete(contactPoints).where(eq(contactPoints.customerId, id));
    await tx.delete(addresses).where(eq(addresses.customerId, id));
    await tx.delete(identityDocuments).where(eq(identityDocuments.customerId, id));
    const [row] = await tx.update(customers).set({
      status: 'erased', givenName: null, familyName: null, companyName: null,
      dateOfBirthEnc: null, erasedAt: sql`now()`, updatedAt: sql`now()`,
    }).where(eq(customers.id, id)).returning();
    await blankIdempotentResponses(tx, deps.crypto, id);
    await revokeCustomerKeys(tx, id);
    await emit(tx, 'customer.erased', { customerId: id }, { aggregateId: id, requestId: ctx.requestId });
    await audit(tx, ctx, { action: 'customer.erased', entityType: 'customer', entityId: id });
    return { id, status: 'erased' as const, erasedAt: row!.erasedAt! };
  });
}
