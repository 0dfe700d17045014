import type { Row } from './types.js';

const round = (n: number, digits: number) => (Number.isFinite(n) ? Number(n.toFixed(digits)) : null);

/** The --json shape: exactly these five keys, so consumers can compare runs field by field. */
export function toJson(rows: Row[], floor: number) {
  return rows.map((r) => ({
    scenario: r.scenario,
    throughputPerSec: round(r.throughputPerSec, 1),
    p50Ms: round(r.p50Ms, 2),
    p99Ms: round(r.p99Ms, 2),
    ratioToPgbench: round(r.throughputPerSec / floor, 3),
  }));
}

export function toTable(rows: Row[], floor: number): string {
  const head = ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'ratio to pgbench', 'non-2xx'];
  const body = rows.map((r) => [
    r.scenario,
    r.throughputPerSec.toFixed(1),
    r.p50Ms.toFixed(2),
    r.p99Ms.toFixed(2),
    (r.throughputPerSec / floor).toFixed(3),
    r.non2xx === undefined ? '-' : String(r.non2xx + (r.errors ? ` (+${r.errors} errors)` : '')),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  // Text left, numbers right, as a reader scans them.
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}
