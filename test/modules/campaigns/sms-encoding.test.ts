import { describe, expect, it } from 'vitest';
import { decodeShortMessage, encodeParts, gsm7Length, smsPlan, type SmsPlan } from '../../../src/modules/campaigns/sms-encoding.js';

// The GSM 03.38 default alphabet written out independently of the module, with 0x1B (escape) left out.
const BASIC_BY_SEPTET: Array<[number, string]> = [
  ...[...'@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ'].map((ch, i): [number, string] => [i, ch]),
  [0x1c, 'Æ'], [0x1d, 'æ'], [0x1e, 'ß'], [0x1f, 'É'],
  ...[...' !"#¤%&\'()*+,-./0123456789:;<=>?'].map((ch, i): [number, string] => [0x20 + i, ch]),
  [0x40, '¡'], ...[...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'].map((ch, i): [number, string] => [0x41 + i, ch]),
  [0x5b, 'Ä'], [0x5c, 'Ö'], [0x5d, 'Ñ'], [0x5e, 'Ü'], [0x5f, '§'],
  [0x60, '¿'], ...[...'abcdefghijklmnopqrstuvwxyz'].map((ch, i): [number, string] => [0x61 + i, ch]),
  [0x7b, 'ä'], [0x7c, 'ö'], [0x7d, 'ñ'], [0x7e, 'ü'], [0x7f, 'à'],
];
const EXTENSION = '\f^{}\\[~]|€';
const udh = (ref: number, total: number, seq: number) => [0x05, 0x00, 0x03, ref, total, seq];
const utf16be = (s: string) => Buffer.from(s, 'utf16le').swap16();

describe('gsm7Length', () => {
  it.each([
    { text: '', septets: 0 },
    { text: 'Hello, world!', septets: 13 },
    { text: '€', septets: 2 },
    { text: '[', septets: 2 },
    { text: EXTENSION, septets: 20 },
    { text: 'Price: 5€ [promo]', septets: 20 },
    { text: 'Grüße', septets: 5 },
    { text: 'Ça va?', septets: 6 },
    { text: '$ and ¤ are both basic', septets: 22 },
    { text: 'line\r\nbreak', septets: 11 },
    { text: 'Привет', septets: null },
    { text: 'ł', septets: null },
    { text: 'ç', septets: null }, // only the capital Ç is in the table
    { text: 'á', septets: null }, // only à
    { text: '`', septets: null },
    { text: 'ok 😀', septets: null },
    { text: '\u001b', septets: null }, // the escape septet is not a character
    { text: '\u00a0', septets: null }, // no-break space
  ])('$text -> $septets', ({ text, septets }) => {
    expect(gsm7Length(text)).toBe(septets);
  });

  it('counts every basic character as one septet and every extension character as two', () => {
    expect(BASIC_BY_SEPTET).toHaveLength(127);
    expect(gsm7Length(BASIC_BY_SEPTET.map(([, ch]) => ch).join(''))).toBe(127);
    for (const ch of EXTENSION) expect(gsm7Length(ch)).toBe(2);
  });
});

describe('smsPlan', () => {
  const gsm = (units: number, parts: number, perPart: number, remainingInLastPart: number): SmsPlan =>
    ({ encoding: 'GSM-7', dataCoding: 0, units, parts, perPart, remainingInLastPart });
  const ucs = (units: number, parts: number, perPart: number, remainingInLastPart: number): SmsPlan =>
    ({ encoding: 'UCS-2', dataCoding: 8, units, parts, perPart, remainingInLastPart });

  it.each([
    { name: 'empty text', text: '', plan: gsm(0, 1, 160, 160) },
    { name: '160 GSM chars fit one SMS', text: 'a'.repeat(160), plan: gsm(160, 1, 160, 0) },
    { name: '161 GSM chars need 2 parts of 153', text: 'a'.repeat(161), plan: gsm(161, 2, 153, 145) },
    { name: '306 GSM chars fill 2 parts exactly', text: 'a'.repeat(306), plan: gsm(306, 2, 153, 0) },
    { name: '307 GSM chars need 3 parts', text: 'a'.repeat(307), plan: gsm(307, 3, 153, 152) },
    { name: '80 euro signs are 160 septets: one SMS', text: '€'.repeat(80), plan: gsm(160, 1, 160, 0) },
    { name: '81 euro signs: 76 per part (152 septets), never half an escape pair', text: '€'.repeat(81), plan: gsm(162, 2, 153, 143) },
    {
      name: '[ at septet 153 moves whole to the next part, which then overflows (naive count: 2 parts)',
      text: `${'a'.repeat(152)}[${'b'.repeat(152)}`, plan: gsm(306, 3, 153, 152),
    },
    { name: '€ that ends exactly at septet 153 stays in part 1', text: `${'a'.repeat(151)}€${'b'.repeat(10)}`, plan: gsm(163, 2, 153, 143) },
    { name: 'Grüße is GSM-7', text: 'Grüße', plan: gsm(5, 1, 160, 155) },
    { name: 'Ça va? is GSM-7', text: 'Ça va?', plan: gsm(6, 1, 160, 154) },
    { name: 'Привет needs UCS-2', text: 'Привет', plan: ucs(6, 1, 70, 64) },
    { name: 'one ł turns the whole text UCS-2', text: 'Hello ł', plan: ucs(7, 1, 70, 63) },
    { name: 'an emoji is 2 UTF-16 units', text: 'ok 😀', plan: ucs(5, 1, 70, 65) },
    { name: '70 UCS-2 units fit one SMS', text: 'ж'.repeat(70), plan: ucs(70, 1, 70, 0) },
    { name: '71 UCS-2 units need 2 parts of 67', text: 'ж'.repeat(71), plan: ucs(71, 2, 67, 63) },
    { name: 'an emoji ending at unit 70 still fits one SMS', text: `${'ж'.repeat(68)}😀`, plan: ucs(70, 1, 70, 0) },
    {
      name: 'an emoji at unit 67 moves whole to the next part, which then overflows (naive count: 2 parts)',
      text: `${'ж'.repeat(66)}😀${'ж'.repeat(66)}`, plan: ucs(134, 3, 67, 66),
    },
  ])('$name', ({ text, plan }) => {
    expect(smsPlan(text)).toEqual(plan);
  });

  it('agrees with encodeParts on the number of parts', () => {
    for (const text of ['', 'a'.repeat(161), `${'a'.repeat(152)}[${'b'.repeat(152)}`, `${'ж'.repeat(66)}😀${'ж'.repeat(66)}`, '€'.repeat(400)]) {
      expect(encodeParts(text, 1).parts).toHaveLength(smsPlan(text).parts);
    }
  });
});

describe('encodeParts', () => {
  it('maps every default-alphabet character to its septet, unpacked, one per octet', () => {
    const { dataCoding, esmClass, parts } = encodeParts(BASIC_BY_SEPTET.map(([, ch]) => ch).join(''), 0);
    expect({ dataCoding, esmClass }).toEqual({ dataCoding: 0, esmClass: 0 });
    expect([...parts[0]]).toEqual(BASIC_BY_SEPTET.map(([septet]) => septet));
  });

  it.each([
    { text: 'Hi', bytes: [0x48, 0x69] },
    { text: '@£$¥', bytes: [0x00, 0x01, 0x02, 0x03] },
    { text: '¤', bytes: [0x24] },
    { text: '¡§¿à', bytes: [0x40, 0x5f, 0x60, 0x7f] },
    { text: '€', bytes: [0x1b, 0x65] },
    { text: '[', bytes: [0x1b, 0x3c] },
    { text: EXTENSION, bytes: [0x0a, 0x14, 0x28, 0x29, 0x2f, 0x3c, 0x3d, 0x3e, 0x40, 0x65].flatMap((s) => [0x1b, s]) },
  ])('GSM-7 $text', ({ text, bytes }) => {
    expect([...encodeParts(text, 0).parts[0]]).toEqual(bytes);
  });

  it('sends UCS-2 as UTF-16 big-endian, an emoji as its surrogate pair', () => {
    const out = encodeParts('Привет 😀', 0);
    expect(out.dataCoding).toBe(8);
    expect(out.esmClass).toBe(0);
    expect(out.parts).toHaveLength(1);
    expect(out.parts[0].equals(utf16be('Привет 😀'))).toBe(true);
    expect([...out.parts[0].subarray(-4)]).toEqual([0xd8, 0x3d, 0xde, 0x00]);
  });

  it('puts no UDH on a single SMS, whatever the reference', () => {
    const out = encodeParts('a'.repeat(160), 200);
    expect(out.esmClass).toBe(0);
    expect(out.parts).toHaveLength(1);
    expect(out.parts[0]).toHaveLength(160);
  });

  it('starts each part of a 3-part message with 05 00 03 ref 3 seq and sets UDHI', () => {
    const text = `${'a'.repeat(153)}${'b'.repeat(153)}c`;
    const out = encodeParts(text, 0x2a);
    expect(out.esmClass).toBe(0x40);
    expect(out.dataCoding).toBe(0);
    expect(out.parts.map((p) => p.length)).toEqual([159, 159, 7]);
    expect(out.parts.map((p) => [...p.subarray(0, 6)])).toEqual([udh(0x2a, 3, 1), udh(0x2a, 3, 2), udh(0x2a, 3, 3)]);
    expect(out.parts.map((p) => p.subarray(6).toString('latin1'))).toEqual(['a'.repeat(153), 'b'.repeat(153), 'c']);
  });

  it('moves an escape pair that would straddle a boundary whole to the next part', () => {
    const out = encodeParts(`${'a'.repeat(152)}[${'b'.repeat(10)}`, 7); // 164 septets: concatenated
    expect(out.parts.map((p) => p.length)).toEqual([6 + 152, 6 + 12]);
    expect(out.parts[0].at(-1)).toBe(0x61);
    expect([...out.parts[1].subarray(6, 9)]).toEqual([0x1b, 0x3c, 0x62]);
    expect(out.parts.map((p) => [...p.subarray(0, 6)])).toEqual([udh(7, 2, 1), udh(7, 2, 2)]);
  });

  it('moves a surrogate pair that would straddle a boundary whole to the next part', () => {
    const out = encodeParts(`${'ж'.repeat(66)}😀${'ж'.repeat(66)}`, 9);
    expect(out.dataCoding).toBe(8);
    expect(out.esmClass).toBe(0x40);
    expect(out.parts.map((p) => p.length)).toEqual([6 + 132, 6 + 134, 6 + 2]);
    expect(out.parts[0].subarray(6).equals(utf16be('ж'.repeat(66)))).toBe(true);
    expect([...out.parts[1].subarray(6, 10)]).toEqual([0xd8, 0x3d, 0xde, 0x00]);
    expect(out.parts.map((p) => [...p.subarray(0, 6)])).toEqual([udh(9, 3, 1), udh(9, 3, 2), udh(9, 3, 3)]);
  });

  it.each([-1, 256, 1.5, Number.NaN])('rejects reference %s', (ref) => {
    expect(() => encodeParts('hi', ref)).toThrow(RangeError);
  });

  it('allows at most 255 parts', () => {
    expect(encodeParts('a'.repeat(153 * 255), 0).parts).toHaveLength(255);
    expect(() => encodeParts('a'.repeat(153 * 255 + 1), 0)).toThrow(RangeError);
  });
});

describe('decodeShortMessage', () => {
  it.each([
    { name: 'GSM-7 with every extension character', text: `Hi {all}: 5€ ~ [x] | y\\z ^ ${EXTENSION} @£$¤ Ça Grüße`.repeat(6) },
    { name: 'the whole default alphabet', text: BASIC_BY_SEPTET.map(([, ch]) => ch).join('').repeat(3) },
    { name: 'UCS-2 with emoji', text: `Привет 😀 ł ${'ж'.repeat(66)}😀${'ж'.repeat(66)} 👍🏽` },
    { name: 'short GSM-7', text: 'Ça va?' },
    { name: 'short UCS-2', text: 'Привет' },
  ])('round-trips $name through encodeParts', ({ text }) => {
    const { dataCoding, esmClass, parts } = encodeParts(text, 33);
    const udhi = (esmClass & 0x40) !== 0;
    expect(parts.map((p) => decodeShortMessage(p, dataCoding, { udhi })).join('')).toBe(text);
  });

  it('decodes Latin-1 (data_coding 3) and IA5 (data_coding 1)', () => {
    expect(decodeShortMessage(Buffer.from([0x43, 0x61, 0x66, 0xe9, 0x20, 0xa3, 0x35]), 3)).toBe('Café £5');
    expect(decodeShortMessage(Buffer.from('STOP [x] $5', 'ascii'), 1)).toBe('STOP [x] $5');
  });

  it('reads GSM-7 octets by the GSM table, not as ASCII', () => {
    expect(decodeShortMessage(Buffer.from([0x00, 0x02, 0x24, 0x11, 0x1b, 0x65]), 0)).toBe('@$¤_€');
  });

  it('decodes UCS-2 big-endian', () => {
    expect(decodeShortMessage(Buffer.from([0x04, 0x1f, 0x00, 0x21, 0xd8, 0x3d, 0xde, 0x00]), 8)).toBe('П!😀');
  });

  it('skips the user data header only when told', () => {
    const buf = Buffer.from([...udh(1, 2, 1), 0x48, 0x69]);
    expect(decodeShortMessage(buf, 0, { udhi: true })).toBe('Hi');
    expect(decodeShortMessage(Buffer.from([0x02, 0x70, 0x00, 0x48]), 3, { udhi: true })).toBe('H');
    expect(decodeShortMessage(Buffer.from([0x48, 0x69]), 0)).toBe('Hi');
  });

  it.each([
    { name: 'an escaped septet missing from the extension table as the basic character', bytes: [0x1b, 0x41], text: 'A' },
    { name: 'ESC ESC as a space', bytes: [0x1b, 0x1b, 0x41], text: ' A' },
    { name: 'a dangling escape as a space', bytes: [0x41, 0x1b], text: 'A ' },
  ])('reads $name', ({ bytes, text }) => {
    expect(decodeShortMessage(Buffer.from(bytes), 0)).toBe(text);
  });

  it.each([
    { name: 'an octet above 0x7F in GSM-7', buf: Buffer.from([0x41, 0x80]), dataCoding: 0 },
    { name: 'an odd-length UCS-2 message', buf: Buffer.from([0x00, 0x41, 0x00]), dataCoding: 8 },
    { name: 'binary data_coding 4', buf: Buffer.from([0x01]), dataCoding: 4 },
    { name: 'a UDH longer than the message', buf: Buffer.from([0x05, 0x00, 0x03]), dataCoding: 0, udhi: true },
    { name: 'an empty message with UDHI', buf: Buffer.alloc(0), dataCoding: 0, udhi: true },
  ])('rejects $name', ({ buf, dataCoding, udhi }) => {
    expect(() => decodeShortMessage(buf, dataCoding, { udhi })).toThrow(RangeError);
  });

  it('does not modify the buffer it decodes', () => {
    const buf = Buffer.from([0x04, 0x1f]);
    decodeShortMessage(buf, 8);
    expect([...buf]).toEqual([0x04, 0x1f]);
  });
});
