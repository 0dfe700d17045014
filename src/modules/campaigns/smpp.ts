import smpp from 'smpp';
import type { Outgoing, Provider } from './delivery.js';
import { ProviderRefused } from './delivery.js';
import { decodeShortMessage, encodeParts, ESM_CLASS_UDHI } from './sms-encoding.js';

export interface SmppConfig {
  /** smpp://host:port */
  url: string;
  systemId: string;
  password: string;
  /** The sender: an alphanumeric name (up to 11 characters) or a number. */
  sourceAddr: string;
  /** At most this many submit_sm wait for their submit_sm_resp at once, across all sends. */
  window: number;
  enquireLinkMs: number;
  /** After a lost connection, the next bind is tried this long after, even with nothing to send. */
  reconnectMs: number;
  /** How long a bind, submit_sm or enquire_link waits for its answer. */
  responseTimeoutMs: number;
}

export type ReceiptState = 'delivered' | 'failed' | 'expired';

export interface SmppHandlers {
  /** A delivery receipt (deliver_sm with esm_class receipt bits 0x04): the SMSC's id of the part, and its final state. */
  receipt(r: { providerMessageId: string; state: ReceiptState; text: string }): Promise<void>;
  /**
   * A mobile-originated message (deliver_sm that is not a receipt). An international number
   * (TON 1) comes in E.164 with its '+', as recipients are written.
   */
  inbound(m: { from: string; to: string; text: string }): Promise<void>;
}

const status = smpp.errors;
const statusNames = new Map(Object.entries(status).map(([name, code]) => [code, name]));
const describeStatus = (code: number) => `${statusNames.get(code) ?? 'unknown status'} (0x${code.toString(16).padStart(8, '0')})`;

/** The SMSC is busy or broken for now; the same message may well pass later. Anything else is about the message. */
const TRANSIENT_STATUSES = new Set([status.ESME_RTHROTTLED, status.ESME_RMSGQFUL, status.ESME_RSYSERR, status.ESME_RINVBNDSTS]);

/** esm_class bits 2-5, the message type of a deliver_sm (SMPP 3.4, 5.2.12). */
const MESSAGE_TYPE_MASK = 0x3c;
const TYPE_MOBILE_ORIGINATED = 0x00;
const TYPE_DELIVERY_RECEIPT = 0x04;

/** The stat: of a receipt's text; others (ENROUTE, ACCEPTD ...) are not final. */
const STATE_BY_STAT: Record<string, ReceiptState> = { DELIVRD: 'delivered', EXPIRED: 'expired', UNDELIV: 'failed', REJECTD: 'failed', DELETED: 'failed', UNKNOWN: 'failed' };
/** message_state TLV: 2 delivered, 3 expired, 4 deleted, 5 undeliverable, 7 unknown, 8 rejected. The others are not final. */
const STATE_BY_TLV: Record<number, ReceiptState> = { 2: 'delivered', 3: 'expired', 4: 'failed', 5: 'failed', 7: 'failed', 8: 'failed' };

/**
 * The package decodes a received short_message into text itself, by rules that are not ours
 * (data_coding 1 is read with its GSM table, 0 by a process-wide default, unknown octets become
 * spaces), and has no switch to keep the octets. Its decode filters of deliver_sm's short_message
 * and of the message_payload TLV are wrapped once, process-wide, to also record the octets as they
 * came, by PDU; what the package itself does with them is unchanged.
 */
const rawOctets = new WeakMap<object, { short_message?: Buffer; message_payload?: Buffer }>();
const wrapped = new WeakSet<smpp.Filter>();
function keepRawOctets(field: smpp.FieldDefinition | undefined, name: 'short_message' | 'message_payload') {
  const original = field?.filter;
  if (!field || !original || wrapped.has(original)) return;
  const filter: smpp.Filter = {
    encode: original.encode,
    decode(value, skipUdh) {
      if (Buffer.isBuffer(value)) rawOctets.set(this, { ...rawOctets.get(this), [name]: value });
      return original.decode.call(this, value, skipUdh);
    },
  };
  wrapped.add(filter);
  field.filter = filter;
}
keepRawOctets(smpp.commands.deliver_sm?.params?.short_message, 'short_message');
keepRawOctets(smpp.tlvs.message_payload, 'message_payload');

/** The octets of a received message: short_message, or message_payload when the SMSC used that instead. */
function octetsOf(pdu: smpp.PDU): Buffer {
  const raw = rawOctets.get(pdu);
  return raw?.short_message?.length ? raw.short_message : raw?.message_payload ?? Buffer.alloc(0);
}

/** A number with TON 1 in E.164 form; anything else as it came. */
const address = (addr: string | undefined, ton: number | undefined) => (ton === 1 && /^\d+$/.test(addr ?? '') ? `+${addr}` : addr ?? '');

function sourceAddress(sourceAddr: string) {
  if (/^\+?\d+$/.test(sourceAddr)) return { source_addr_ton: 1, source_addr_npi: 1, source_addr: sourceAddr.replace('+', '') };
  // GSM 03.40 packs an alphanumeric originator into 11 characters; a longer one is refused or cut.
  if (sourceAddr.length > 11) throw new RangeError(`SMPP alphanumeric sender '${sourceAddr}' is longer than 11 characters`);
  return { source_addr_ton: 5, source_addr_npi: 0, source_addr: sourceAddr };
}

/**
 * What a deliver_sm asks of us: a final receipt or an inbound message to hand on, nothing
 * (acknowledgements, intermediate notices, a receipt of a state not final yet), or nothing we can
 * read (another data coding, broken octets, a receipt that names no message).
 */
function readDeliverSm(pdu: smpp.PDU): Parameters<SmppHandlers['receipt' | 'inbound']>[0] | 'ignore' | 'unreadable' {
  const esmClass = pdu.esm_class ?? 0;
  const type = esmClass & MESSAGE_TYPE_MASK;
  try {
    if (type === TYPE_DELIVERY_RECEIPT) {
      // Receipt texts are ASCII in practice whatever data_coding says, save the odd UCS-2 one.
      const text = pdu.data_coding === 8 ? decodeShortMessage(octetsOf(pdu), 8) : octetsOf(pdu).toString('latin1');
      // The TLVs come first: SMPP 3.4 only suggests the text's format (Appendix B), and some SMSCs
      // write its id in another base than the submit_sm_resp's.
      const providerMessageId = pdu.receipted_message_id || /(?:^|\s)id:(\S+)/i.exec(text)?.[1];
      const stat = /(?:^|\s)stat:(\w+)/i.exec(text)?.[1]?.toUpperCase() ?? '';
      const state = pdu.message_state !== undefined ? STATE_BY_TLV[pdu.message_state] : STATE_BY_STAT[stat];
      if (!providerMessageId) return 'unreadable';
      return state ? { providerMessageId, state, text } : 'ignore';
    }
    if (type !== TYPE_MOBILE_ORIGINATED) return 'ignore';
    const text = decodeShortMessage(octetsOf(pdu), pdu.data_coding ?? 0, { udhi: (esmClass & ESM_CLASS_UDHI) !== 0 });
    return { from: address(pdu.source_addr, pdu.source_addr_ton), to: address(pdu.destination_addr, pdu.dest_addr_ton), text };
  } catch {
    return 'unreadable';
  }
}

/** A counting semaphore, first come first served. */
function semaphore(size: number) {
  let free = size;
  const waiting: (() => void)[] = [];
  return {
    acquire: () => (free > 0 ? (free--, Promise.resolve()) : new Promise<void>((resolve) => waiting.push(resolve))),
    release: () => { const next = waiting.shift(); if (next) next(); else free++; },
  };
}

/** A bound session and the submits waiting on it, failed at once if it closes. */
interface Link { session: smpp.Session; pending: Set<(err: Error) => void>; closed: boolean }

/**
 * SMS over SMPP 3.4 as one transceiver session: submit_sm out, delivery receipts and
 * mobile-originated messages in. The session is opened on the first send and kept; when it is
 * lost it is opened again on the next send and, so that receipts keep coming, every `reconnectMs`
 * until it is back or the provider is closed.
 */
export function smppProvider(config: SmppConfig, handlers: SmppHandlers): Provider & { connect(): void; close(): Promise<void> } {
  if (!(config.window >= 1)) throw new RangeError(`SMPP window must be at least 1, got ${config.window}`);
  const sender = sourceAddress(config.sourceAddr);
  const where = new URL(config.url).host; // for error texts, which are stored: never the URL's credentials
  const window = semaphore(config.window);
  let current: Promise<Link> | null = null;
  /** The link `current` resolved to, so that losing it forgets `current` at once. */
  let active: Link | null = null;
  let closed = false;
  let reconnectTimer: NodeJS.Timeout | undefined;
  // Rolling concatenation reference; a random start makes two processes less likely to collide.
  let reference = Math.floor(Math.random() * 256);

  function link(): Promise<Link> {
    if (closed) return Promise.reject(new ProviderRefused('SMPP provider is closed', true));
    current ??= bind().catch((err: unknown) => { current = null; scheduleReconnect(); throw err; });
    return current;
  }

  function scheduleReconnect() {
    if (closed || reconnectTimer) return;
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      link().catch(() => {}); // a failure schedules the next try
    }, config.reconnectMs);
    reconnectTimer.unref();
  }

  function bind(): Promise<Link> {
    return new Promise((resolve, reject) => {
      const session = smpp.connect({ url: config.url });
      const l: Link = { session, pending: new Set(), closed: false };
      let settled = false;
      const fail = (why: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        session.destroy();
        reject(new ProviderRefused(why, true));
      };
      const timer = setTimeout(() => fail(`SMSC ${where} did not complete the bind within ${config.responseTimeoutMs} ms`), config.responseTimeoutMs);
      session.on('error', (err: Error) => {
        fail(`cannot reach SMSC ${where}: ${err.message}`);
        // A PDU the package cannot parse leaves its reader stuck, and a socket error ends the link anyway.
        session.destroy();
      });
      session.on('close', () => { fail(`SMSC ${where} closed the connection during the bind`); lost(l); });
      session.on('connect', () => {
        session.bind_transceiver({ system_id: config.systemId, password: config.password }, (pdu) => {
          if (pdu.command_status !== 0) {
            return fail(`bind refused by SMSC ${where}: ${describeStatus(pdu.command_status)}; check the SMPP system id and password (a configuration problem: no SMS can go out until it is fixed)`);
          }
          if (settled) return; // timed out meanwhile
          settled = true;
          clearTimeout(timer);
          active = l;
          keepAlive(l);
          resolve(l);
        });
      });
      session.on('deliver_sm', (pdu: smpp.PDU) => void deliver(session, pdu));
      session.on('enquire_link', (pdu: smpp.PDU) => session.send(pdu.response()));
      session.on('unbind', (pdu: smpp.PDU) => { session.send(pdu.response()); session.close(); });
      session.on('unknown', (pdu: smpp.PDU) => session.send(pdu.response())); // generic_nack
    });
  }

  /** enquire_link on a timer; no answer in time means a dead link, which is dropped. */
  function keepAlive(l: Link) {
    const interval = setInterval(() => {
      const deadline = setTimeout(() => l.session.destroy(), config.responseTimeoutMs).unref();
      if (!l.session.enquire_link(() => clearTimeout(deadline))) clearTimeout(deadline);
    }, config.enquireLinkMs).unref();
    l.session.once('close', () => clearInterval(interval));
  }

  function lost(l: Link) {
    if (l.closed) return;
    l.closed = true;
    for (const fail of l.pending) fail(new ProviderRefused(`connection to SMSC ${where} closed before the submit_sm_resp`, true));
    if (active !== l) return; // a failed bind: link() has scheduled the next try
    active = null;
    current = null;
    scheduleReconnect();
  }

  async function submit(params: Record<string, unknown>, part: string): Promise<string> {
    await window.acquire();
    try {
      const l = await link();
      return await new Promise<string>((resolve, reject) => {
        const settle = (err: Error | null, id?: string) => {
          if (!l.pending.delete(settle)) return;
          clearTimeout(timer);
          if (err) reject(err); else resolve(id ?? '');
        };
        l.pending.add(settle);
        const timer = setTimeout(() => settle(new ProviderRefused(`no submit_sm_resp from SMSC ${where} for ${part} within ${config.responseTimeoutMs} ms`, true)), config.responseTimeoutMs);
        const sent = l.session.submit_sm(params, (pdu) => {
          const code = pdu.command_status;
          if (code === 0) return settle(null, pdu.message_id);
          if (code === status.ESME_RINVBNDSTS) l.session.destroy(); // the SMSC forgot our bind: start over
          settle(new ProviderRefused(`SMSC ${where} refused ${part}: submit_sm_resp ${describeStatus(code)}`, TRANSIENT_STATUSES.has(code)));
        });
        if (!sent) settle(new ProviderRefused(`connection to SMSC ${where} is not writable`, true));
      });
    } finally {
      window.release();
    }
  }

  /**
   * Answers every deliver_sm, once handled: OK; a temporary error when the handler failed, so that
   * the SMSC sends it again; a permanent one when it cannot be read, as sending it again won't help.
   */
  async function deliver(session: smpp.Session, pdu: smpp.PDU) {
    const what = readDeliverSm(pdu);
    let answer = what === 'unreadable' ? status.ESME_RX_P_APPN : 0;
    try {
      if (typeof what === 'object') await ('state' in what ? handlers.receipt(what) : handlers.inbound(what));
    } catch {
      answer = status.ESME_RX_T_APPN;
    }
    session.send(pdu.response({ command_status: answer }));
  }

  return {
    /** Binds now rather than on the first send, so that receipts and customers' messages arrive on a server that has sent nothing yet. */
    connect() { link().catch(() => {}); },
    async send(m: Outgoing) {
      if (!/^\+?\d{1,15}$/.test(m.recipient)) throw new ProviderRefused(`'${m.recipient}' is not an E.164 number`, false);
      // A retry after some parts were taken sends the others, under the same reference, so that the phone joins them.
      const ref = m.smsReference ?? reference;
      let encoded;
      try {
        encoded = encodeParts(m.body, ref);
      } catch (err) {
        throw new ProviderRefused((err as Error).message, false); // more than 255 parts
      }
      if (m.smsReference === null) reference = (reference + 1) & 0xff;
      const ids = [...m.partsAccepted];
      for (const [i, shortMessage] of encoded.parts.entries()) {
        if (i < ids.length) continue;
        try {
          ids.push(await submit({
            ...sender, dest_addr_ton: 1, dest_addr_npi: 1, destination_addr: m.recipient.replace('+', ''), registered_delivery: 1,
            // A Buffer goes out as is: the package re-encodes only strings, and sets esm_class itself only for its own { udh } form.
            data_coding: encoded.dataCoding, esm_class: encoded.esmClass, short_message: shortMessage,
          }, encoded.parts.length > 1 ? `part ${i + 1} of ${encoded.parts.length}` : 'the message'));
        } catch (err) {
          if (!ids.length || !(err instanceof ProviderRefused)) throw err;
          throw new ProviderRefused(err.response, err.transient, { partIds: ids, reference: ref });
        }
      }
      return { providerMessageId: ids[0], partIds: ids, response: 'submit_sm_resp OK' };
    },

    /** Unbinds and closes the socket; no reconnect after this. */
    async close() {
      closed = true;
      clearTimeout(reconnectTimer);
      const l = await current?.catch(() => null);
      current = null;
      if (!l || l.closed) return;
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => l.session.destroy(), config.responseTimeoutMs).unref();
        l.session.once('close', () => { clearTimeout(force); resolve(); });
        if (!l.session.unbind(() => l.session.close())) l.session.destroy();
      });
    },
  };
}
