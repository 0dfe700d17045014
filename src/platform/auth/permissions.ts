/**
 * Every route names one permission; a principal holds permissions through its role (staff),
 * its kind (partner, customer) or its capabilities (integration keys). Anything not listed is denied.
 */
export const permissions = [
  'customers:read',
  'customers:write',
  'customers:consent',
  'customers:export',
  'customers:erase',
  'audit:read',
  'staff:manage',
  'api_keys:manage',
  'events:read',
  'catalog:read',
  'catalog:write',
  'inventory:read',
  'inventory:write',
  'orders:read',
  'orders:write',
  'billing:read',
  'billing:recharge',
  'billing:adjust',
  'billing:transfer',
  'usage:ingest',
  'spend_caps:write',
  'billing:run',
  'vouchers:read',
  'vouchers:manage',
  'vouchers:sell',
  'vouchers:redeem',
  'discounts:read',
  'discounts:manage',
  'discounts:quote',
  'discounts:apply',
  'service:read',
  'service:agent_read',
  'service:write',
  'service:assign',
  'service:configure',
  'service:supervise',
  'interactions:read',
  'interactions:write',
  'incidents:manage',
  'incidents:report',
  'campaigns:manage',
  'messages:read',
  'messages:redrive',
  /** Mail providers' inbound webhooks: an integration's capability. */
  'messages:inbound',
] as const;
export type Permission = (typeof permissions)[number];

export const staffRoles = ['admin', 'supervisor', 'csr', 'marketing'] as const;
export type StaffRole = (typeof staffRoles)[number];

export type Principal =
  | { kind: 'staff'; id: string; role: StaffRole; via: 'api_key' | 'token' }
  | { kind: 'partner'; id: string; partnerId: string; via: 'api_key' | 'token' }
  | { kind: 'customer'; id: string; customerId: string; via: 'api_key' | 'token' }
  | { kind: 'integration'; id: string; capabilities: Permission[]; via: 'api_key' };

const staff: Record<StaffRole, readonly Permission[]> = {
  admin: permissions,
  supervisor: ['customers:read', 'customers:write', 'customers:consent', 'customers:export', 'customers:erase', 'audit:read', 'catalog:read', 'inventory:read', 'inventory:write', 'orders:read', 'orders:write', 'billing:read', 'billing:recharge', 'billing:adjust', 'billing:transfer', 'spend_caps:write',
    'vouchers:read', 'vouchers:manage', 'vouchers:sell', 'vouchers:redeem', 'discounts:read', 'discounts:quote', 'discounts:apply',
    'service:read', 'service:agent_read', 'service:write', 'service:assign', 'service:configure', 'service:supervise', 'interactions:read', 'interactions:write', 'incidents:manage', 'messages:read', 'messages:redrive'],
  csr: ['customers:read', 'customers:write', 'customers:consent', 'catalog:read', 'inventory:read', 'orders:read', 'orders:write', 'billing:read', 'billing:recharge', 'billing:adjust', 'billing:transfer', 'spend_caps:write',
    'vouchers:read', 'vouchers:redeem', 'discounts:read', 'discounts:quote', 'discounts:apply', 'service:read', 'service:agent_read', 'service:write', 'service:assign', 'interactions:read', 'interactions:write'],
  // Marketing owns the offer: price plans, add-ons, discounts and promotions.
  marketing: ['catalog:read', 'catalog:write', 'discounts:read', 'discounts:manage', 'campaigns:manage', 'messages:read'],
};
// Partners and customers reach only their own records (and only what is on sale): the scope does
// that, not these lists.
const partner: readonly Permission[] = ['customers:read', 'customers:write', 'customers:consent', 'catalog:read', 'orders:read', 'orders:write', 'billing:read', 'vouchers:read', 'vouchers:sell', 'vouchers:redeem', 'discounts:quote', 'discounts:apply'];
// A customer's own orders are limited by type (self-care: plan change and packs), in the orders module.
const customer: readonly Permission[] = ['customers:read', 'customers:consent', 'customers:export', 'catalog:read', 'orders:read', 'orders:write', 'billing:read', 'billing:transfer', 'spend_caps:write', 'vouchers:redeem', 'discounts:quote',
  'service:read', 'service:write'];

export function can(p: Principal, permission: Permission): boolean {
  switch (p.kind) {
    case 'staff': return staff[p.role].includes(permission);
    case 'partner': return partner.includes(permission);
    case 'customer': return customer.includes(permission);
    case 'integration': return p.capabilities.includes(permission);
  }
}

/** What part of the customer base a principal may see; services turn it into a WHERE clause. */
export type CustomerScope = { all: true } | { partnerId: string } | { customerId: string };
export function customerScope(p: Principal): CustomerScope {
  if (p.kind === 'partner') return { partnerId: p.partnerId };
  if (p.kind === 'customer') return { customerId: p.customerId };
  return { all: true };
}
