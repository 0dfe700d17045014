import { describe, expect, it } from 'vitest';
import {
  type Catalogue, checkTemplate, chooseLanguage, InvalidVariableValue, MissingVariable, parseTemplate, render, type RenderOptions,
  TemplateInvalid, type VarType,
} from '../../../src/modules/campaigns/template-rules.js';

const catalogue: Catalogue = {
  balance: 'money', 'voucher.serial': 'text', 'invoice.dueDate': 'date', 'order.placedAt': 'datetime', 'usage.mb': 'number', name: 'text',
};
const opts = (over: Partial<RenderOptions> = {}): RenderOptions => ({ locale: 'en-GB', timeZone: 'Europe/London', catalogue, ...over });
/** One variable `v` of the given type, rendered alone. */
const one = (type: VarType, value: unknown, over: Partial<RenderOptions> = {}) => render('{{v}}', { v: value }, opts({ catalogue: { v: type }, ...over }));
const thrown = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('did not throw');
};

describe('parsing', () => {
  it.each([
    { source: '', parts: [] },
    { source: 'Hello', parts: [{ kind: 'text', text: 'Hello' }] },
    {
      source: 'Your balance is {{balance}}. Voucher {{voucher.serial}} redeemed.',
      parts: [
        { kind: 'text', text: 'Your balance is ' }, { kind: 'variable', name: 'balance', at: 16 }, { kind: 'text', text: '. Voucher ' },
        { kind: 'variable', name: 'voucher.serial', at: 37 }, { kind: 'text', text: ' redeemed.' },
      ],
    },
    { source: '{{ balance }}', parts: [{ kind: 'variable', name: 'balance', at: 0 }] },
    { source: '{{\tinvoice.due_Date2\n}}', parts: [{ kind: 'variable', name: 'invoice.due_Date2', at: 0 }] },
    { source: '{{a}}{{b}}', parts: [{ kind: 'variable', name: 'a', at: 0 }, { kind: 'variable', name: 'b', at: 5 }] },
    { source: 'a { b } c {x}', parts: [{ kind: 'text', text: 'a { b } c {x}' }] },
  ])('$source', ({ source, parts }) => {
    expect(parseTemplate(source)).toEqual(parts);
  });

  it.each([
    { source: 'Hi {{name', problems: [{ message: '"{{" at 3 is not closed with "}}"', at: 3 }] },
    { source: 'Hi {{name {{balance}}', problems: [{ message: '"{{" at 3 is not closed with "}}"', at: 3 }] },
    { source: 'Hi {{}} and {{   }}', problems: [{ message: 'Empty variable name at 3', at: 3 }, { message: 'Empty variable name at 12', at: 12 }] },
    { source: 'Hi name}}', problems: [{ message: '"}}" at 7 closes nothing: there is no "{{" before it', at: 7 }] },
    { source: '{{1abc}}', variable: '1abc' },
    { source: '{{first name}}', variable: 'first name' },
    { source: '{{voucher.}}', variable: 'voucher.' },
    { source: '{{voucher..serial}}', variable: 'voucher..serial' },
    { source: '{{.serial}}', variable: '.serial' },
    { source: '{{voucher.1st}}', variable: 'voucher.1st' },
    { source: '{{na-me}}', variable: 'na-me' },
    { source: '{{#if vip}}', variable: '#if vip' },
    { source: '{{> footer}}', variable: '> footer' },
    { source: '{{{raw}}}', variable: '{raw' },
    { source: '{{upper name}}', variable: 'upper name' },
    { source: '{{ balance | money }}', variable: 'balance | money' },
    { source: '{{<b>}}', variable: '<b>' },
    { source: '{{naïve}}', variable: 'naïve' },
  ])('refuses $source', ({ source, problems, variable }) => {
    const e = thrown(() => parseTemplate(source));
    expect(e).toBeInstanceOf(TemplateInvalid);
    if (problems) expect((e as TemplateInvalid).problems).toEqual(problems);
    else {
      expect((e as TemplateInvalid).problems).toEqual([{ variable, at: 0, message: expect.stringContaining(`Invalid variable name "${variable}" at 0`) }]);
    }
  });

  it('reports every problem of a template, not only the first', () => {
    const check = checkTemplate('{{}} {{ok}} {{bad name}} x}} {{open', { ok: 'text' });
    expect(check).toEqual({
      ok: false,
      problems: [
        { message: 'Empty variable name at 0', at: 0 },
        { message: expect.stringMatching(/^Invalid variable name "bad name" at 12:/), variable: 'bad name', at: 12 },
        { message: '"}}" at 26 closes nothing: there is no "{{" before it', at: 26 },
        { message: '"{{" at 29 is not closed with "}}"', at: 29 },
      ],
    });
  });
});

describe('checking against a catalogue', () => {
  it('lists the variables used, each once, in order of first use', () => {
    expect(checkTemplate('Invoice due {{invoice.dueDate}}. {{ balance }} left, {{balance}}.', catalogue)).toEqual({ ok: true, variables: ['invoice.dueDate', 'balance'] });
    expect(checkTemplate('No variables at all.', catalogue)).toEqual({ ok: true, variables: [] });
  });

  it.each([
    { source: 'Hi {{surname}}', problems: [{ message: 'Unknown variable "surname"', variable: 'surname', at: 3 }] },
    { source: 'Left: {{balanse}}', problems: [{ message: 'Unknown variable "balanse" (did you mean "balance"?)', variable: 'balanse', at: 6 }] },
    { source: '{{voucher.Serial}}', problems: [{ message: 'Unknown variable "voucher.Serial" (did you mean "voucher.serial"?)', variable: 'voucher.Serial', at: 0 }] },
    { source: '{{voucher}}', problems: [{ message: 'Unknown variable "voucher"', variable: 'voucher', at: 0 }] },
    { source: '{{x}} {{x}} {{y}}', problems: [{ message: 'Unknown variable "x"', variable: 'x', at: 0 }, { message: 'Unknown variable "y"', variable: 'y', at: 12 }] },
    // Names that every JavaScript object has are still not in the catalogue.
    { source: '{{constructor}} {{toString}}', problems: [{ message: 'Unknown variable "constructor"', variable: 'constructor', at: 0 }, { message: 'Unknown variable "toString"', variable: 'toString', at: 16 }] },
  ])('refuses $source', ({ source, problems }) => {
    expect(checkTemplate(source, catalogue)).toEqual({ ok: false, problems });
  });

  it('render refuses an unknown variable the same way, before looking at values', () => {
    const e = thrown(() => render('Hi {{surname}}', { surname: 'x' }, opts()));
    expect(e).toBeInstanceOf(TemplateInvalid);
    expect((e as TemplateInvalid).problems).toEqual([{ message: 'Unknown variable "surname"', variable: 'surname', at: 3 }]);
  });
});

describe('money, in the customer\'s locale and the currency\'s ISO 4217 minor units', () => {
  it.each([
    { locale: 'en-GB', amount: 1250, currency: 'GBP', text: '£12.50' },
    { locale: 'en-GB', amount: -1250, currency: 'GBP', text: '-£12.50' },
    { locale: 'en-GB', amount: 5, currency: 'GBP', text: '£0.05' },
    { locale: 'en-GB', amount: 0, currency: 'GBP', text: '£0.00' },
    { locale: 'de-DE', amount: 1250, currency: 'EUR', text: '12,50\u00a0€' },
    { locale: 'fr-FR', amount: 123450, currency: 'EUR', text: '1\u202f234,50\u00a0€' },
    { locale: 'ja-JP', amount: 1250, currency: 'JPY', text: '￥1,250' },
    { locale: 'en-GB', amount: 12345, currency: 'KWD', text: 'KWD\u00a012.345' },
    { locale: 'de-DE', amount: 12345, currency: 'KWD', text: '12,345\u00a0KWD' },
    // Intl would show HUF without decimals; ISO 4217 (and our invoices) give it two.
    { locale: 'en-GB', amount: 125000, currency: 'HUF', text: 'HUF\u00a01,250.00' },
    { locale: 'en-GB', amount: 123456789012345, currency: 'EUR', text: '€1,234,567,890,123.45' },
  ])('$amount $currency in $locale: $text', ({ locale, amount, currency, text }) => {
    expect(one('money', { amount, currency }, { locale })).toBe(text);
  });
});

describe('dates and times', () => {
  it.each([
    { locale: 'en-GB', timeZone: 'Europe/London', value: '2026-03-14', text: '14 Mar 2026' },
    { locale: 'de-DE', timeZone: 'Europe/Berlin', value: '2026-03-14', text: '14.03.2026' },
    { locale: 'ja-JP', timeZone: 'Asia/Tokyo', value: '2026-03-14', text: '2026/03/14' },
    // A calendar day is the same day in every time zone, at either end of the world.
    { locale: 'en-GB', timeZone: 'Pacific/Kiritimati', value: '2026-03-14', text: '14 Mar 2026' },
    { locale: 'en-GB', timeZone: 'Pacific/Pago_Pago', value: '2026-03-14', text: '14 Mar 2026' },
    { locale: 'en-GB', timeZone: 'Pacific/Pago_Pago', value: new Date('2026-03-14T00:00:00Z'), text: '14 Mar 2026' },
    { locale: 'en-GB', timeZone: 'Asia/Tokyo', value: new Date('2026-12-31T00:00:00Z'), text: '31 Dec 2026' },
    { locale: 'en-GB', timeZone: 'UTC', value: '2028-02-29', text: '29 Feb 2028' },
  ])('date $value in $timeZone ($locale): $text', ({ locale, timeZone, value, text }) => {
    expect(one('date', value, { locale, timeZone })).toBe(text);
  });

  it.each([
    // 15:30 UTC is already past midnight in Tokyo: the customer's own clock and day.
    { locale: 'en-GB', timeZone: 'Asia/Tokyo', value: '2026-03-14T15:30:00Z', text: '15 Mar 2026, 00:30' },
    { locale: 'ja-JP', timeZone: 'Asia/Tokyo', value: new Date('2026-03-14T15:30:00Z'), text: '2026/03/15 0:30' },
    { locale: 'en-GB', timeZone: 'Europe/London', value: '2026-03-14T15:30:00Z', text: '14 Mar 2026, 15:30' },
    { locale: 'de-DE', timeZone: 'Europe/Berlin', value: '2026-03-14T16:30:00+01:00', text: '14.03.2026, 16:30' },
    { locale: 'en-GB', timeZone: 'America/New_York', value: '2026-03-15T03:59:59.999Z', text: '14 Mar 2026, 23:59' },
  ])('datetime $value in $timeZone ($locale): $text', ({ locale, timeZone, value, text }) => {
    expect(one('datetime', value, { locale, timeZone })).toBe(text);
  });
});

describe('numbers and text', () => {
  it.each([
    { type: 'number' as const, locale: 'en-GB', value: 1234567.891, text: '1,234,567.891' },
    { type: 'number' as const, locale: 'de-DE', value: 1234567.891, text: '1.234.567,891' },
    { type: 'number' as const, locale: 'de-DE', value: 12345678901234567890n, text: '12.345.678.901.234.567.890' },
    { type: 'number' as const, locale: 'en-GB', value: 0, text: '0' },
    { type: 'text' as const, locale: 'de-DE', value: 'VX-0042 <b>&', text: 'VX-0042 <b>&' },
    { type: 'text' as const, locale: 'en-GB', value: '', text: '' },
  ])('$type $value in $locale: $text', ({ type, locale, value, text }) => {
    expect(one(type, value, { locale })).toBe(text);
  });
});

describe('a whole message', () => {
  const source = 'Your balance is {{balance}}. Voucher {{voucher.serial}} redeemed. Invoice due {{invoice.dueDate}}.';
  const values = { balance: { amount: 1250, currency: 'EUR' }, 'voucher.serial': 'VX-0042', 'invoice.dueDate': '2026-04-01' };

  it('renders in the customer\'s locale', () => {
    expect(render(source, values, opts({ locale: 'de-DE', timeZone: 'Europe/Berlin' }))).toBe('Your balance is 12,50\u00a0€. Voucher VX-0042 redeemed. Invoice due 01.04.2026.');
  });

  it('takes nested values as well as dotted keys; a dotted key wins', () => {
    const nested = { balance: values.balance, voucher: { serial: 'NESTED' }, invoice: { dueDate: '2026-04-01' } };
    expect(render(source, nested, opts())).toBe('Your balance is €12.50. Voucher NESTED redeemed. Invoice due 1 Apr 2026.');
    expect(render('{{voucher.serial}}', { voucher: { serial: 'NESTED' }, 'voucher.serial': 'FLAT' }, opts())).toBe('FLAT');
  });

  it('escapes every value for HTML, and never the template\'s own text', () => {
    const html = '<p>Hello <b>{{name}}</b>, voucher {{voucher.serial}} &amp; {{ balance }}</p>';
    const v = { name: `<script>alert("x")</script> O'Brien & Co`, 'voucher.serial': '<img src=x onerror=alert(1)>', balance: { amount: 1250, currency: 'EUR' } };
    expect(render(html, v, opts({ html: true, locale: 'de-DE' }))).toBe(
      '<p>Hello <b>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; O&#39;Brien &amp; Co</b>, voucher &lt;img src=x onerror=alert(1)&gt; &amp; 12,50\u00a0€</p>',
    );
    // SMS: as is.
    expect(render('{{name}}', { name: '<b>&' }, opts())).toBe('<b>&');
  });
});

describe('values that cannot be rendered', () => {
  it.each([
    { name: 'absent', values: { 'voucher.serial': 'X' } },
    { name: 'undefined', values: { balance: undefined, 'voucher.serial': 'X' } },
    { name: 'null', values: { balance: null, 'voucher.serial': 'X' } },
    { name: 'nested parent absent', values: { balance: { amount: 1, currency: 'EUR' }, voucher: {} }, variable: 'voucher.serial' },
    { name: 'nested parent not an object', values: { balance: { amount: 1, currency: 'EUR' }, voucher: 'X' }, variable: 'voucher.serial' },
    { name: 'inherited, not own', values: Object.assign(Object.create({ balance: { amount: 1, currency: 'EUR' } }) as object, { 'voucher.serial': 'X' }) },
  ])('a missing value ($name) throws MissingVariable, never an empty hole', ({ values, variable = 'balance' }) => {
    const e = thrown(() => render('{{balance}} {{voucher.serial}}', values as Record<string, unknown>, opts()));
    expect(e).toBeInstanceOf(MissingVariable);
    expect((e as MissingVariable).variable).toBe(variable);
    expect((e as Error).message).toBe(`No value for the template variable "${variable}"`);
  });

  it.each<{ type: VarType; value: unknown }>([
    { type: 'money', value: 12.5 },
    { type: 'money', value: '£12.50' },
    { type: 'money', value: { amount: 12.5, currency: 'EUR' } },
    { type: 'money', value: { amount: '1250', currency: 'EUR' } },
    { type: 'money', value: { amount: 1250, currency: 'eur' } },
    { type: 'money', value: { amount: 1250 } },
    { type: 'money', value: { amount: 2 ** 53, currency: 'EUR' } },
    { type: 'date', value: '2026-02-30' },
    { type: 'date', value: '2026-3-14' },
    { type: 'date', value: '2026-03-14T00:00:00Z' },
    { type: 'date', value: new Date('2026-03-14T15:00:00Z') },
    { type: 'date', value: new Date('nope') },
    { type: 'date', value: 1773446400000 },
    { type: 'datetime', value: '2026-03-14T15:30:00' },
    { type: 'datetime', value: '2026-03-14' },
    { type: 'datetime', value: '2026-02-30T10:00:00Z' },
    { type: 'datetime', value: '2026-03-14T24:00:00Z' },
    { type: 'datetime', value: new Date('nope') },
    { type: 'number', value: '12' },
    { type: 'number', value: Number.NaN },
    { type: 'number', value: Number.POSITIVE_INFINITY },
    { type: 'text', value: 42 },
    { type: 'text', value: { toString: () => 'x' } },
  ])('$type refuses $value', ({ type, value }) => {
    const e = thrown(() => one(type, value));
    expect(e).toBeInstanceOf(InvalidVariableValue);
    expect(e).toMatchObject({ variable: 'v', type });
  });

  it('a locale or time zone Intl does not know fails every message, with or without datetimes', () => {
    expect(() => render('Hi {{name}}', { name: 'A' }, opts({ timeZone: 'Mars/Olympus_Mons' }))).toThrow(RangeError);
    expect(() => render('Hi {{name}}', { name: 'A' }, opts({ locale: 'en_GB' }))).toThrow(RangeError);
  });
});

describe('choosing the template language', () => {
  it.each([
    { name: 'exact tag', available: ['en', 'pt', 'pt-BR'], preferred: 'pt-BR', fallback: 'en', chosen: 'pt-BR' },
    { name: 'exact tag, other case', available: ['en', 'pt-br'], preferred: 'pt-BR', fallback: 'en', chosen: 'pt-br' },
    { name: 'underscore spelling', available: ['en', 'pt-BR'], preferred: 'pt_BR', fallback: 'en', chosen: 'pt-BR' },
    { name: 'primary language', available: ['en', 'pt'], preferred: 'pt-BR', fallback: 'en', chosen: 'pt' },
    { name: 'script before primary language', available: ['zh', 'zh-Hant', 'en'], preferred: 'zh-Hant-TW', fallback: 'en', chosen: 'zh-Hant' },
    { name: 'primary language past an extension', available: ['de', 'en'], preferred: 'de-DE-u-co-phonebk', fallback: 'en', chosen: 'de' },
    { name: 'another region is not the customer\'s language: operator default', available: ['en', 'pt-PT'], preferred: 'pt-BR', fallback: 'en', chosen: 'en' },
    { name: 'no match: operator default', available: ['fr', 'en'], preferred: 'de-AT', fallback: 'en', chosen: 'en' },
    { name: 'no preference: operator default', available: ['fr', 'en'], preferred: null, fallback: 'en', chosen: 'en' },
    { name: 'empty preference: operator default', available: ['fr', 'en'], preferred: '  ', fallback: 'en', chosen: 'en' },
    { name: 'operator default by its primary language', available: ['fr', 'en'], preferred: 'de', fallback: 'en-GB', chosen: 'en' },
    { name: 'operator default absent too: first available', available: ['fr', 'es'], preferred: 'de', fallback: 'en', chosen: 'fr' },
    { name: 'nothing preferred, no default template: first available', available: ['sw'], preferred: null, fallback: 'en', chosen: 'sw' },
  ])('$name', ({ available, preferred, fallback, chosen }) => {
    expect(chooseLanguage(available, preferred, fallback)).toBe(chosen);
  });

  it('refuses to choose among nothing', () => {
    expect(() => chooseLanguage([], 'en', 'en')).toThrow(RangeError);
  });
});
