import type { FastifyPluginAsync } from 'fastify';
import { customerPartRoutes } from './parts-routes.js';
import { customerRoutes } from './routes.js';
import type { CustomerDeps } from './service.js';

/** The customer core: parties, contact points, documents, consents and billing accounts. */
export const customersModule: FastifyPluginAsync<CustomerDeps> = async (app, deps) => {
  await app.register(customerRoutes, deps);
  await app.register(customerPartRoutes, deps);
};

export type { CustomerDeps } from './service.js';
export { customerExists, customerForWrite, customerVisible, getCustomer } from './service.js';
export { customersByContact, customersInAreas, emailUndeliverable, findBillingAccount, markUndeliverable, postpaidAccount, postpaidAccounts, recordConsent, withdrawConsent } from './parts.js';
export { type CustomerView, segments as customerSegments } from './schemas.js';
export { type CustomerCondition, type MessagingProfile, messagingProfiles, type SegmentFilter, segmentPage, segmentSize } from './messaging.js';
export { customerViewRoot, dateOrNull, viewPart, type CustomerViewPart, type CustomerViewRoot, type ViewFlag, type ViewSubject } from './view.js';
