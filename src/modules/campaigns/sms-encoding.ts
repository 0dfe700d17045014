/**
 * SMS encoding rules for SMPP 3.4 (submit_sm / deliver_sm): pure functions, no I/O.
 *
 * A text goes out in the GSM 03.38 7-bit default alphabet when every character is in it (or in its
 * basic extension table), otherwise in UCS-2. How many septets / code units it needs decides how
 * many SMS it costs: one SMS holds 160 septets or 70 UCS-2 units; a concatenated one loses 6 octets
 * to the user data header, leaving 153 septets or 67 units per part. Parts are filled greedily and
 * never split a character: an extension character (escape + char) or a UTF-16 surrogate pair that
 * does not fit in what is left of a part moves whole to the next one, because a handset would show
 * half of it as garbage. `smsPlan` (what the customer is charged) and `encodeParts` (what is sent)
 * use the same packing, so they always agree on the number of parts.
 */

export type SmsEncoding = 'GSM-7' | 'UCS-2';

/** SMPP data_coding values we send: 0 = SMSC default alphabet (GSM-7 here), 8 = UCS-2. */
export type OutboundDataCoding = 0 | 8;

export interface SmsPlan {
  encoding: SmsEncoding;
  dataCoding: OutboundDataCoding;
  /** Septets (GSM-7, an extension character counts 2) or UTF-16 code units (UCS-2). */
  units: number;
  parts: number;
  /** Capacity of each part: 160/70 for a single SMS, 153/67 when concatenated. */
  perPart: number;
  /** Units still free in the last part (a 2-unit character needs 2 of them). */
  remainingInLastPart: number;
}

export interface EncodedSms {
  dataCoding: OutboundDataCoding;
  /** submit_sm esm_class: 0x40 (UDHI, the short_message starts with a UDH) for a concatenated SMS, else 0. */
  esmClass: number;
  /** The short_message octets of each submit_sm, in order. */
  parts: Buffer[];
}

export interface DecodeOptions {
  /** The deliver_sm esm_class had UDHI (0x40) set: the short_message starts with a user data header. */
  udhi?: boolean;
}

/** esm_class bit saying the short_message begins with a user data header. */
export const ESM_CLASS_UDHI = 0x40;

const LIMITS: Record<SmsEncoding, { single: number; concatenated: number }> = {
  // 140 octets of user data; 160 septets packed. Concatenated: 134 octets after the 6-octet UDH,
  // which is 153 septets (plus one fill bit) or 67 UCS-2 units.
  'GSM-7': { single: 160, concatenated: 153 },
  'UCS-2': { single: 70, concatenated: 67 },
};

/** The 8-bit reference in the concatenation UDH limits a message to 255 parts. */
const MAX_PARTS = 255;

const ESC = 0x1b;

/**
 * GSM 03.38 default alphabet; a character's index is its septet. 0x1B is the escape to the
 * extension table, not a character: its slot holds U+001B only to keep the indices right and is
 * skipped when building the encoder, so a literal U+001B in a text is not GSM-7.
 */
const GSM7_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅå' + // 0x00-0x0F
  'Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ' + // 0x10-0x1F
  ' !"#¤%&\'()*+,-./' + // 0x20-0x2F (0x24 is ¤, not $; $ is 0x02)
  '0123456789:;<=>?' + // 0x30-0x3F
  '¡ABCDEFGHIJKLMNO' + // 0x40-0x4F
  'PQRSTUVWXYZÄÖÑÜ§' + // 0x50-0x5F
  '¿abcdefghijklmno' + // 0x60-0x6F
  'pqrstuvwxyzäöñüà'; // 0x70-0x7F

/** GSM 03.38 basic extension table: sent as ESC followed by this septet. */
const GSM7_EXTENSION: ReadonlyArray<readonly [septet: number, char: string]> = [
  [0x0a, '\f'],
  [0x14, '^'],
  [0x28, '{'],
  [0x29, '}'],
  [0x2f, '\\'],
  [0x3c, '['],
  [0x3d, '~'],
  [0x3e, ']'],
  [0x40, '|'],
  [0x65, '€'],
];

if ([...GSM7_BASIC].length !== 128) throw new Error('GSM 03.38 default alphabet table must have 128 entries');

/** Character -> the septets that encode it (one, or escape + one). */
const GSM7_ENCODE: ReadonlyMap<string, readonly number[]> = new Map<string, readonly number[]>([
  ...[...GSM7_BASIC].flatMap((ch, septet) => (septet === ESC ? [] : [[ch, [septet]] as const])),
  ...GSM7_EXTENSION.map(([septet, ch]) => [ch, [ESC, septet]] as const),
]);

const GSM7_DECODE_EXTENSION: ReadonlyMap<number, string> = new Map(GSM7_EXTENSION);

/** One character as it goes on the wire; parts are only ever cut between tokens. */
interface Token {
  units: number;
  bytes: readonly number[];
}

function gsm7Tokens(text: string): Token[] | null {
  const tokens: Token[] = [];
  // GSM-7 characters are all in the BMP, so an astral code point simply misses the map.
  for (const ch of text) {
    const septets = GSM7_ENCODE.get(ch);
    if (!septets) return null;
    tokens.push({ units: septets.length, bytes: septets });
  }
  return tokens;
}

function ucs2Tokens(text: string): Token[] {
  const tokens: Token[] = [];
  // Iterating by code point keeps a surrogate pair together as one 2-unit token. A lone surrogate
  // stays a 1-unit token and is sent as is.
  for (const ch of text) {
    const bytes: number[] = [];
    for (let i = 0; i < ch.length; i++) {
      const unit = ch.charCodeAt(i);
      bytes.push(unit >> 8, unit & 0xff); // big-endian, as SMPP data_coding 8 expects
    }
    tokens.push({ units: ch.length, bytes });
  }
  return tokens;
}

function tokenize(text: string): { encoding: SmsEncoding; dataCoding: OutboundDataCoding; tokens: Token[] } {
  const gsm = gsm7Tokens(text);
  return gsm ? { encoding: 'GSM-7', dataCoding: 0, tokens: gsm } : { encoding: 'UCS-2', dataCoding: 8, tokens: ucs2Tokens(text) };
}

const unitsOf = (tokens: readonly Token[]) => tokens.reduce((sum, t) => sum + t.units, 0);

/** Splits tokens into parts: one part if all fit in a single SMS, else greedy fill of concatenated parts. */
function packParts(tokens: Token[], encoding: SmsEncoding): Token[][] {
  const { single, concatenated } = LIMITS[encoding];
  if (unitsOf(tokens) <= single) return [tokens];
  const parts: Token[][] = [];
  let current: Token[] = [];
  let used = 0;
  for (const token of tokens) {
    if (used + token.units > concatenated) {
      parts.push(current);
      current = [];
      used = 0;
    }
    current.push(token);
    used += token.units;
  }
  parts.push(current);
  return parts;
}

/** Septets the text needs in GSM-7 (extension characters count 2), or null if it needs UCS-2. */
export function gsm7Length(text: string): number | null {
  const tokens = gsm7Tokens(text);
  return tokens ? unitsOf(tokens) : null;
}

/** Encoding, size and number of SMS parts for a text. */
export function smsPlan(text: string): SmsPlan {
  const { encoding, dataCoding, tokens } = tokenize(text);
  const parts = packParts(tokens, encoding);
  const perPart = parts.length === 1 ? LIMITS[encoding].single : LIMITS[encoding].concatenated;
  return {
    encoding,
    dataCoding,
    units: unitsOf(tokens),
    parts: parts.length,
    perPart,
    remainingInLastPart: perPart - unitsOf(parts[parts.length - 1]),
  };
}

/**
 * The short_message octets of each submit_sm for a text. `reference` (0..255) identifies the
 * concatenated message on the handset; use a different one for each message to the same number.
 *
 * GSM-7 is sent unpacked, one septet per octet, with data_coding 0. SMPP 3.4 leaves the meaning of
 * data_coding 0 ("SMSC default alphabet") to the SMSC, and SMSCs commonly take the GSM default
 * alphabet unpacked in SMPP and pack it themselves for the air interface; packing here would be
 * misread by them. The 160/153-septet limits are those of the air interface, so they still hold.
 * An SMSC that expects Latin-1 or packed septets under data_coding 0 needs a different encoder.
 *
 * UCS-2 is sent as UTF-16 big-endian: characters outside the BMP go as surrogate pairs, which
 * handsets display although strict UCS-2 has no such characters.
 *
 * A concatenated SMS gets the 8-bit-reference concatenation UDH `05 00 03 ref total seq` in every
 * part and esm_class UDHI. Throws a RangeError for a bad reference or more than 255 parts.
 */
export function encodeParts(text: string, reference: number): EncodedSms {
  if (!Number.isInteger(reference) || reference < 0 || reference > 0xff) {
    throw new RangeError(`SMS concatenation reference must be an integer 0..255, got ${reference}`);
  }
  const { encoding, dataCoding, tokens } = tokenize(text);
  const parts = packParts(tokens, encoding);
  if (parts.length > MAX_PARTS) throw new RangeError(`SMS needs ${parts.length} parts; at most ${MAX_PARTS} can be concatenated`);
  const bodies = parts.map((part) => part.flatMap((t) => t.bytes));
  if (bodies.length === 1) return { dataCoding, esmClass: 0, parts: [Buffer.from(bodies[0])] };
  return {
    dataCoding,
    esmClass: ESM_CLASS_UDHI,
    // UDH: length 5, IE 00 (concatenation, 8-bit reference), IE length 3, reference, total, sequence (1-based).
    parts: bodies.map((body, i) => Buffer.from([0x05, 0x00, 0x03, reference, bodies.length, i + 1, ...body])),
  };
}

function stripUdh(buf: Buffer): Buffer {
  if (buf.length === 0) throw new RangeError('short_message is empty but UDHI says it starts with a user data header');
  const headerLength = 1 + buf[0]; // the UDHL octet counts the octets after itself
  if (headerLength > buf.length) throw new RangeError(`user data header of ${headerLength} octets is longer than the ${buf.length}-octet short_message`);
  return buf.subarray(headerLength);
}

function decodeGsm7Unpacked(buf: Buffer): string {
  let text = '';
  for (let i = 0; i < buf.length; i++) {
    const septet = buf[i];
    if (septet > 0x7f) throw new RangeError(`octet 0x${septet.toString(16)} at ${i} is not a GSM-7 septet (data_coding 0 is read unpacked)`);
    if (septet !== ESC) {
      text += GSM7_BASIC[septet];
      continue;
    }
    i++;
    const next = i < buf.length ? buf[i] : ESC;
    if (next === ESC) {
      // A dangling escape, or ESC ESC (reserved for a further extension table): GSM 03.38 says to
      // show a space for the latter, and we do the same for the former rather than reject the message.
      text += ' ';
    } else if (next > 0x7f) {
      throw new RangeError(`octet 0x${next.toString(16)} at ${i} is not a GSM-7 septet`);
    } else {
      // GSM 03.38: an escaped septet that is not in the extension table shows as the default-alphabet character.
      text += GSM7_DECODE_EXTENSION.get(next) ?? GSM7_BASIC[next];
    }
  }
  return text;
}

function decodeUtf16be(buf: Buffer): string {
  if (buf.length % 2 !== 0) throw new RangeError(`UCS-2 short_message has an odd length (${buf.length} octets)`);
  return Buffer.from(buf).swap16().toString('utf16le'); // copy first: swap16 works in place
}

/**
 * Text of an inbound short_message (deliver_sm, mobile-originated) by its data_coding:
 * 0 GSM-7 unpacked (default alphabet + extension; see `encodeParts` for why unpacked),
 * 1 IA5/ASCII and 3 Latin-1 (both read as Latin-1: same for 7-bit text, and lenient with an SMSC
 * that puts 8-bit text under 1), 8 UCS-2 big-endian (surrogate pairs allowed).
 * Other data codings (binary, national alphabets, message classes) throw a RangeError, as do
 * malformed octets. With `{ udhi: true }` the user data header is skipped first.
 */
export function decodeShortMessage(buf: Buffer, dataCoding: number, options: DecodeOptions = {}): string {
  const body = options.udhi ? stripUdh(buf) : buf;
  switch (dataCoding) {
    case 0:
      return decodeGsm7Unpacked(body);
    case 1:
    case 3:
      return body.toString('latin1');
    case 8:
      return decodeUtf16be(body);
    default:
      throw new RangeError(`unsupported SMPP data_coding ${dataCoding}`);
  }
}

/**
 * Intl writes no-break spaces into money and dates ("0,00 €"); GSM-7 has none, and one of them
 * would turn the whole SMS into UCS-2, 70 characters a part instead of 160.
 */
export const smsText = (text: string) => text.replace(/[\u00a0\u202f\u2009]/g, ' ');
