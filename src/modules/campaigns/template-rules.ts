/**
 * Message template rules: pure functions, no I/O. A campaign message (SMS or email) is literal text
 * with typed variables, `Your balance is {{balance}}.`; there is no logic, no helpers and no raw
 * output. A template is checked against a catalogue of variables when it is saved (so the API can
 * answer 4xx), and rendered per customer in their locale and time zone when it is sent. Rendering
 * never leaves a hole: a missing or ill-typed value throws.
 */
import { currencyCode, minorUnits } from '../../platform/http/money.js';

export type VarType = 'money' | 'date' | 'datetime' | 'text' | 'number';
/** The variables a template may use, by dotted name (`voucher.serial`). */
export type Catalogue = Record<string, VarType>;

/** Money as the API carries it: an integer amount in the currency's minor units. */
export interface MoneyValue { amount: number; currency: string }

/**
 * The values of one message, by dotted name (`{ 'voucher.serial': 'A1' }`) or nested
 * (`{ voucher: { serial: 'A1' } }`); a flat dotted key wins over a nested path.
 * money: MoneyValue · date: `YYYY-MM-DD`, or a Date at 00:00 UTC (how the driver returns a date
 * column) · datetime: an ISO instant with `Z` or an offset, or a Date · number: number or bigint ·
 * text: string.
 */
export type TemplateValues = Record<string, unknown>;

export type TemplatePart = { kind: 'text'; text: string } | { kind: 'variable'; name: string; at: number };

/** `at` is the offset in the source (UTF-16 code units, from 0) of the `{{` or `}}` concerned. */
export interface TemplateProblem { message: string; variable?: string; at?: number }

export type TemplateCheck = { ok: true; variables: string[] } | { ok: false; problems: TemplateProblem[] };

export interface RenderOptions {
  /** The customer's BCP 47 locale, e.g. `de-DE`. */
  locale: string;
  /** The customer's IANA time zone, e.g. `Asia/Tokyo`. */
  timeZone: string;
  catalogue: Catalogue;
  /** Email bodies: every substituted value is HTML-escaped (the template's own text is not). */
  html?: boolean;
}

/** The template is malformed, or (when rendering) uses variables the catalogue does not have. */
export class TemplateInvalid extends Error {
  override readonly name = 'TemplateInvalid';
  constructor(readonly problems: TemplateProblem[]) {
    super(problems.map((p) => p.message).join('; '));
  }
}

/** A variable the template uses has no value for this message. */
export class MissingVariable extends Error {
  override readonly name = 'MissingVariable';
  constructor(readonly variable: string) {
    super(`No value for the template variable "${variable}"`);
  }
}

/** A variable's value is not of the catalogue's type (a string for money, an impossible date...). */
export class InvalidVariableValue extends Error {
  override readonly name = 'InvalidVariableValue';
  constructor(readonly variable: string, readonly type: VarType, detail: string) {
    super(`The value of the template variable "${variable}" (${type}) ${detail}`);
  }
}

const NAME = /^[a-zA-Z][a-zA-Z0-9_]*(\.[a-zA-Z][a-zA-Z0-9_]*)*$/;

/** Reads the source into parts, and every syntax problem found on the way. */
function scan(source: string): { parts: TemplatePart[]; problems: TemplateProblem[] } {
  const parts: TemplatePart[] = [];
  const problems: TemplateProblem[] = [];
  const text = (t: string) => {
    if (!t) return;
    const last = parts[parts.length - 1];
    if (last?.kind === 'text') last.text += t;
    else parts.push({ kind: 'text', text: t });
  };
  let i = 0;
  while (i < source.length) {
    const open = source.indexOf('{{', i);
    const stray = source.indexOf('}}', i);
    if (stray !== -1 && (open === -1 || stray < open)) {
      problems.push({ message: `"}}" at ${stray} closes nothing: there is no "{{" before it`, at: stray });
      text(source.slice(i, stray + 2));
      i = stray + 2;
      continue;
    }
    if (open === -1) {
      text(source.slice(i));
      break;
    }
    text(source.slice(i, open));
    const close = source.indexOf('}}', open + 2);
    const reopen = source.indexOf('{{', open + 2);
    if (close === -1 || (reopen !== -1 && reopen < close)) {
      problems.push({ message: `"{{" at ${open} is not closed with "}}"`, at: open });
      if (close === -1) break;
      i = reopen;
      continue;
    }
    const name = source.slice(open + 2, close).trim();
    if (!name) problems.push({ message: `Empty variable name at ${open}`, at: open });
    else if (!NAME.test(name)) {
      problems.push({
        message: `Invalid variable name "${name}" at ${open}: a name is letters, digits and underscores, starting with a letter, in dotted parts (voucher.serial); templates hold variables only`,
        variable: name, at: open,
      });
    } else parts.push({ kind: 'variable', name, at: open });
    i = close + 2;
  }
  return { parts, problems };
}

/** The parts of a template, literal text and variables in order; throws TemplateInvalid on malformed syntax. */
export function parseTemplate(source: string): TemplatePart[] {
  const { parts, problems } = scan(source);
  if (problems.length) throw new TemplateInvalid(problems);
  return parts;
}

/** Levenshtein distance, for "did you mean" on an unknown variable. */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length];
}

function unknownVariables(parts: TemplatePart[], catalogue: Catalogue): TemplateProblem[] {
  const problems: TemplateProblem[] = [];
  const seen = new Set<string>();
  for (const p of parts) {
    if (p.kind !== 'variable' || seen.has(p.name)) continue;
    seen.add(p.name);
    if (Object.hasOwn(catalogue, p.name)) continue;
    const near = Object.keys(catalogue)
      .map((known) => ({ known, d: distance(p.name.toLowerCase(), known.toLowerCase()) }))
      .filter((x) => x.d <= 2)
      .sort((x, y) => x.d - y.d || x.known.localeCompare(y.known))[0];
    problems.push({ message: `Unknown variable "${p.name}"${near ? ` (did you mean "${near.known}"?)` : ''}`, variable: p.name, at: p.at });
  }
  return problems;
}

/** Whether a template may be saved for this catalogue: its variables (each once, in order), or every problem found. */
export function checkTemplate(source: string, catalogue: Catalogue): TemplateCheck {
  const { parts, problems } = scan(source);
  problems.push(...unknownVariables(parts, catalogue));
  if (problems.length) return { ok: false, problems: problems.sort((a, b) => (a.at ?? 0) - (b.at ?? 0)) };
  return { ok: true, variables: [...new Set(parts.flatMap((p) => (p.kind === 'variable' ? [p.name] : [])))] };
}

/** A campaign renders many messages from the same few templates and formats: what is costly to build is kept, a bounded few. */
function keptFew<T>() {
  const kept = new Map<string, T>();
  return <U extends T>(key: string, make: () => U): U => {
    let v = kept.get(key);
    if (!v) {
      if (kept.size >= 500) kept.clear();
      v = make();
      kept.set(key, v);
    }
    return v as U;
  };
}
const cached = keptFew<Intl.NumberFormat | Intl.DateTimeFormat>();
const scans = keptFew<ReturnType<typeof scan>>();
const scanOnce = (source: string) => scans(source, () => scan(source));

const instantFormat = (o: RenderOptions) =>
  cached(`t|${o.locale}|${o.timeZone}`, () => new Intl.DateTimeFormat(o.locale, { dateStyle: 'medium', timeStyle: 'short', timeZone: o.timeZone }));

const validDay = (y: number, m: number, d: number) => {
  const t = new Date(Date.UTC(y, m - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
};
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const ISO_INSTANT = /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,9})?)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/i;

function lookup(values: TemplateValues, name: string): unknown {
  if (Object.hasOwn(values, name)) return values[name];
  let v: unknown = values;
  for (const key of name.split('.')) {
    if (typeof v !== 'object' || v === null || !Object.hasOwn(v, key)) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

function formatValue(name: string, type: VarType, v: unknown, o: RenderOptions): string {
  const bad = (detail: string) => new InvalidVariableValue(name, type, detail);
  switch (type) {
    case 'text':
      if (typeof v !== 'string') throw bad('is not a string');
      return v;
    case 'number':
      if (typeof v !== 'bigint' && (typeof v !== 'number' || !Number.isFinite(v))) throw bad('is not a finite number');
      return cached(`n|${o.locale}`, () => new Intl.NumberFormat(o.locale)).format(v);
    case 'money': {
      const m = v as Partial<MoneyValue>;
      if (typeof v !== 'object' || !Number.isSafeInteger(m.amount) || !currencyCode.safeParse(m.currency).success) {
        throw bad('is not { amount: integer in minor units, currency: ISO 4217 code }');
      }
      const digits = minorUnits(m.currency!);
      const f = cached(`m|${o.locale}|${m.currency}`, () => new Intl.NumberFormat(o.locale, {
        style: 'currency', currency: m.currency!, minimumFractionDigits: digits, maximumFractionDigits: digits,
      }));
      return f.format(m.amount! / 10 ** digits);
    }
    case 'date': {
      let at: Date;
      if (v instanceof Date) {
        if (Number.isNaN(v.getTime())) throw bad('is an invalid Date');
        if (v.getTime() % 86_400_000 !== 0) throw bad('is a Date that is not at 00:00 UTC: pass the calendar day as YYYY-MM-DD');
        at = v;
      } else {
        const d = typeof v === 'string' ? ISO_DATE.exec(v) : null;
        if (!d || !validDay(+d[1], +d[2], +d[3])) throw bad('is not a calendar date YYYY-MM-DD');
        at = new Date(Date.UTC(+d[1], +d[2] - 1, +d[3]));
      }
      // A calendar day is the same day everywhere: formatted at UTC, where it was made, it never shifts.
      return cached(`d|${o.locale}`, () => new Intl.DateTimeFormat(o.locale, { dateStyle: 'medium', timeZone: 'UTC' })).format(at);
    }
    case 'datetime': {
      let at: Date;
      if (v instanceof Date) at = v;
      else {
        const d = typeof v === 'string' ? ISO_INSTANT.exec(v) : null;
        if (!d || !validDay(+d[1], +d[2], +d[3])) throw bad('is not an ISO 8601 instant with Z or an offset');
        at = new Date(v as string);
      }
      if (Number.isNaN(at.getTime())) throw bad('is an invalid instant');
      return instantFormat(o).format(at);
    }
    default:
      throw bad('has a type the catalogue does not know');
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ESCAPES[c]);

/**
 * One message. Throws TemplateInvalid (malformed, or a variable not in the catalogue),
 * MissingVariable (no value, or null), InvalidVariableValue (a value not of its type), and
 * RangeError for a locale or time zone Intl does not accept (whatever variables the template uses).
 */
export function render(source: string, values: TemplateValues, options: RenderOptions): string {
  const { parts, problems: syntax } = scanOnce(source);
  const problems = [...syntax, ...unknownVariables(parts, options.catalogue)];
  if (problems.length) throw new TemplateInvalid(problems);
  instantFormat(options); // a bad locale or time zone fails here, not only in messages that show a datetime
  let out = '';
  for (const p of parts) {
    if (p.kind === 'text') {
      out += p.text;
      continue;
    }
    const v = lookup(values, p.name);
    if (v === undefined || v === null) throw new MissingVariable(p.name);
    const text = formatValue(p.name, options.catalogue[p.name], v, options);
    out += options.html ? escapeHtml(text) : text;
  }
  return out;
}

/** Lookup in the manner of RFC 4647: `zh-Hant-TW`, then `zh-Hant`, then `zh`; without regard to case. */
function lookupTag(available: string[], tag: string | null): string | undefined {
  let t = tag?.trim().replace(/_/g, '-').toLowerCase();
  while (t) {
    const want = t;
    const hit = available.find((a) => a.toLowerCase() === want);
    if (hit !== undefined) return hit;
    const cut = t.lastIndexOf('-');
    t = cut === -1 ? '' : t.slice(0, cut);
    if (/-[a-z0-9]$/.test(t)) t = t.slice(0, -2); // no tag ends in a lone singleton (`-u`, `-x`)
  }
  return undefined;
}

/**
 * Which of a template's languages a customer gets: their tag (`pt-BR`), then its shorter forms down
 * to the primary language (`pt`), then the operator's default (the same way), then the first
 * available. Returned as spelled in `available`. Throws when nothing is available.
 */
export function chooseLanguage(available: string[], preferred: string | null, operatorDefault: string): string {
  if (!available.length) throw new RangeError('The template has no language to choose from');
  return lookupTag(available, preferred) ?? lookupTag(available, operatorDefault) ?? available[0];
}
