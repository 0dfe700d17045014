import { defineErrors } from '../../platform/http/errors.js';

export const voucherErrors = defineErrors({
  batch_not_found: { status: 404, title: 'No such voucher batch' },
  voucher_not_found: { status: 404, title: 'No such voucher' },
  batch_not_ready: { status: 409, title: 'The batch is still being generated (or its generation failed)' },
  pins_already_downloaded: { status: 409, title: 'The PINs of this batch were downloaded once already and are no longer kept' },
  serial_range_too_large: { status: 422, title: 'A serial range may hold at most 1,000,000 vouchers' },
  vouchers_not_in_state: { status: 409, title: 'Not every voucher in the range is in a state this change applies to; nothing was changed' },
  target_not_found: { status: 404, title: 'No such line or billing account' },
  invalid_pin: { status: 422, title: 'The PIN is not valid' },
  voucher_not_active: { status: 409, title: 'The voucher has not been sold yet' },
  voucher_not_yet_valid: { status: 409, title: 'The voucher\'s validity has not started' },
  voucher_expired: { status: 409, title: 'The voucher has expired' },
  voucher_blocked: { status: 409, title: 'The voucher is blocked' },
  voucher_already_redeemed: { status: 409, title: 'The voucher has already been redeemed' },
  currency_mismatch: { status: 422, title: 'The voucher is not in the balance\'s currency' },
  redemption_locked_out: { status: 429, title: 'Too many wrong PINs: redemptions are locked for a while' },
  idempotency_key_required: { status: 400, title: 'Send an Idempotency-Key header: a retried redemption must never credit twice' },
});
