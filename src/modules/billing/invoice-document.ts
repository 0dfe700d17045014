import { formatMoney } from '../../platform/http/money.js';
import type { visibleInvoice } from './payments.js';

type Invoice = Awaited<ReturnType<typeof visibleInvoice>>;

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const day = (d: Date) => d.toISOString().slice(0, 10);

/** The invoice as a page a customer can read (and print to PDF): self-contained HTML, no scripts. */
export function renderInvoice(inv: Invoice): string {
  const rows = inv.lines.map((l) => `<tr><td>${escape(l.description)}</td><td class="n">${formatMoney(l.amount, inv.currency)}</td></tr>`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Invoice ${escape(inv.number)}</title>
<style>body{font-family:sans-serif;max-width:40em;margin:2em auto}table{width:100%;border-collapse:collapse}td,th{padding:.3em;border-bottom:1px solid #ddd}.n{text-align:right}</style>
</head><body>
<h1>Invoice ${escape(inv.number)}</h1>
<p>Billing account ${escape(inv.billingAccountId)}<br>Period ${day(inv.periodStart)} to ${day(new Date(inv.periodEnd.getTime() - 1))}<br>
Issued ${day(inv.issuedAt)}, due ${day(inv.dueAt)}</p>
<table><thead><tr><th>Item</th><th class="n">Amount</th></tr></thead><tbody>
${rows}
</tbody><tfoot>
<tr><td>Subtotal</td><td class="n">${formatMoney(inv.subtotal, inv.currency)}</td></tr>
<tr><td>Tax (${(inv.taxRateBp / 100).toFixed(2)} %)</td><td class="n">${formatMoney(inv.tax, inv.currency)}</td></tr>
<tr><th>Total</th><th class="n">${formatMoney(inv.total, inv.currency)}</th></tr>
${inv.credited ? `<tr><td>Credited (${inv.creditNotes.map((c) => escape(c.number)).join(', ')})</td><td class="n">${formatMoney(inv.credited, inv.currency)}</td></tr>
` : ''}<tr><td>Paid</td><td class="n">${formatMoney(inv.paid, inv.currency)}</td></tr>
<tr><th>Due</th><th class="n">${formatMoney(inv.due, inv.currency)}</th></tr>
</tfoot></table>
</body></html>
`;
}

type CreditNote = Invoice['creditNotes'][number];

/** A credit note as a page: what it corrects, why, and the amounts. */
export function renderCreditNote(note: CreditNote, inv: Invoice): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Credit note ${escape(note.number)}</title>
<style>body{font-family:sans-serif;max-width:40em;margin:2em auto}table{width:100%;border-collapse:collapse}td,th{padding:.3em;border-bottom:1px solid #ddd}.n{text-align:right}</style>
</head><body>
<h1>Credit note ${escape(note.number)}</h1>
<p>Corrects invoice ${escape(inv.number)} of ${day(inv.issuedAt)}<br>Billing account ${escape(note.billingAccountId)}<br>Issued ${day(note.issuedAt)}</p>
<p>${escape(note.reason)}</p>
<table><tbody>
<tr><td>Credited amount</td><td class="n">${formatMoney(note.subtotal, note.currency)}</td></tr>
<tr><td>Tax (${(inv.taxRateBp / 100).toFixed(2)} %)</td><td class="n">${formatMoney(note.tax, note.currency)}</td></tr>
<tr><th>Total credited</th><th class="n">${formatMoney(note.total, note.currency)}</th></tr>
</tbody></table>
</body></html>
`;
}
