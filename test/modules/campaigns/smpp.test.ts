import type { AddressInfo } from 'node:net';
import smpp from 'smpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Outgoing, ProviderRefused } from '../../../src/modules/campaigns/delivery.js';
import { smppProvider, type SmppConfig, type SmppHandlers } from '../../../src/modules/campaigns/smpp.js';

// The package decodes a received short_message into text with its own tables; this SMSC wants the
// octets exactly as the provider sent them.
const submitShortMessage = smpp.commands.submit_sm.params!.short_message;
submitShortMessage.filter = { encode: submitShortMessage.filter!.encode, decode: (value) => value };

interface Submitted {
  systemId: string; messageId: string; octets: Buffer; dataCoding: number; esmClass: number; registeredDelivery: number;
  destination: string; destTon: number; destNpi: number; source: string; sourceTon: number; sourceNpi: number;
}

/** A real SMSC on loopback: checks the bind, keeps what it is sent, and misbehaves as told. */
const PASSWORDS: Record<string, string> = { crm: 'secret', windowed: 'secret', keepalive: 'secret' };
const smsc = {
  binds: [] as string[],
  unbinds: [] as string[],
  submitted: [] as Submitted[],
  /** command_status for the next submit_sm(s), in order; 0 or none: accepted. */
  statuses: [] as number[],
  dropNext: false,
  silentNext: false,
  /** Leave enquire_link unanswered, as a dead link would. */
  deaf: false,
  enquireLinks: 0,
  delayMs: 0,
  outstanding: 0,
  maxOutstanding: 0,
  /** The latest bound session of each system id. */
  sessions: new Map<string, smpp.Session>(),
};
let nextId = 0;
const server = smpp.createServer((session) => {
  let systemId = '';
  session.on('error', () => {});
  session.on('bind_transceiver', (pdu: smpp.PDU) => {
    if (PASSWORDS[pdu.system_id ?? ''] !== pdu.password) {
      session.send(pdu.response({ command_status: smpp.errors.ESME_RINVPASWD }));
      session.close();
      return;
    }
    systemId = pdu.system_id!;
    smsc.binds.push(systemId);
    smsc.sessions.set(systemId, session);
    session.send(pdu.response({ system_id: 'test-smsc' }));
  });
  session.on('submit_sm', (pdu: smpp.PDU) => {
    if (smsc.dropNext) { smsc.dropNext = false; session.destroy(); return; }
    if (smsc.silentNext) { smsc.silentNext = false; return; }
    const status = smsc.statuses.shift() ?? 0;
    const messageId = status ? '' : `m${(++nextId).toString(16).padStart(8, '0')}`;
    if (!status) {
      smsc.submitted.push({
        systemId, messageId, octets: pdu.short_message as Buffer, dataCoding: pdu.data_coding!, esmClass: pdu.esm_class!, registeredDelivery: pdu.registered_delivery!,
        destination: pdu.destination_addr!, destTon: pdu.dest_addr_ton!, destNpi: pdu.dest_addr_npi!, source: pdu.source_addr!, sourceTon: pdu.source_addr_ton!, sourceNpi: pdu.source_addr_npi!,
      });
    }
    smsc.maxOutstanding = Math.max(smsc.maxOutstanding, ++smsc.outstanding);
    setTimeout(() => {
      smsc.outstanding--;
      session.send(pdu.response(status ? { command_status: status } : { message_id: messageId }));
    }, smsc.delayMs);
  });
  session.on('enquire_link', (pdu: smpp.PDU) => {
    smsc.enquireLinks++;
    if (!smsc.deaf) session.send(pdu.response());
  });
  session.on('unbind', (pdu: smpp.PDU) => { smsc.unbinds.push(systemId); session.send(pdu.response()); session.close(); });
});

/** Sends a deliver_sm to the bound session of `systemId`; resolves with the deliver_sm_resp command_status. */
function deliver(systemId: string, params: Record<string, unknown>): Promise<number> {
  return new Promise((resolve, reject) => {
    const sent = smsc.sessions.get(systemId)!.deliver_sm(params, (resp) => resolve(resp.command_status));
    if (!sent) reject(new Error(`no open session of ${systemId}`));
  });
}

async function waitFor(what: string, condition: () => boolean, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const received = { receipts: [] as Parameters<SmppHandlers['receipt']>[0][], inbound: [] as Parameters<SmppHandlers['inbound']>[0][], failInbound: false };
const handlers: SmppHandlers = {
  async receipt(r) { received.receipts.push(r); },
  async inbound(m) {
    if (received.failInbound) throw new Error('database is down');
    received.inbound.push(m);
  },
};

let config: SmppConfig;
const providers: { close(): Promise<void> }[] = [];
function provider(overrides: Partial<SmppConfig> = {}) {
  const p = smppProvider({ ...config, ...overrides }, handlers);
  providers.push(p);
  return p;
}
let seq = 0;
const sms = (body: string, recipient = '+4915112345678') => ({ id: `00000000-0000-7000-8000-${String(++seq).padStart(12, '0')}`, recipient, body, smsReference: null, partsAccepted: [] }) as unknown as Outgoing;
const utf16be = (s: string) => Buffer.from(s, 'utf16le').swap16();
const refusal = (p: Promise<unknown>) => p.then(() => { throw new Error('expected a refusal'); }, (err: unknown) => {
  expect(err).toBeInstanceOf(ProviderRefused);
  return err as ProviderRefused;
});

let crm: ReturnType<typeof smppProvider>;
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  config = {
    url: `smpp://127.0.0.1:${port}`, systemId: 'crm', password: 'secret', sourceAddr: 'TelcoCRM',
    window: 10, enquireLinkMs: 1000, reconnectMs: 100, responseTimeoutMs: 2000,
  };
  crm = provider();
});
afterAll(async () => {
  await Promise.all(providers.map((p) => p.close()));
  for (const s of [...server.sessions]) s.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('smppProvider: submit_sm', () => {
  it('sends a GSM-7 text as one submit_sm of unpacked septets, data_coding 0, to an international number from an alphanumeric sender', async () => {
    const accepted = await crm.send(sms('Hi @£€'));
    const [sent] = smsc.submitted.slice(-1);
    expect(sent).toMatchObject({
      systemId: 'crm', dataCoding: 0, esmClass: 0, registeredDelivery: 1,
      destination: '4915112345678', destTon: 1, destNpi: 1, source: 'TelcoCRM', sourceTon: 5, sourceNpi: 0,
    });
    expect([...sent!.octets]).toEqual([0x48, 0x69, 0x20, 0x00, 0x01, 0x1b, 0x65]);
    expect(accepted).toEqual({ providerMessageId: sent!.messageId, partIds: [sent!.messageId], response: 'submit_sm_resp OK' });
    expect(smsc.binds).toEqual(['crm']);
  });

  it('sends a long UCS-2 text as two UDH-concatenated parts with one reference, and names both parts\' ids in order', async () => {
    const body = 'Ваш баланс почти исчерпан. Пополните счёт, чтобы оставаться на связи: звонки, SMS и интернет.';
    expect(body.length).toBeGreaterThan(70);
    const before = smsc.submitted.length;
    const accepted = await crm.send(sms(body));
    const parts = smsc.submitted.slice(before);
    expect(parts).toHaveLength(2);
    for (const p of parts) expect(p).toMatchObject({ dataCoding: 8, esmClass: 0x40, registeredDelivery: 1, destination: '4915112345678' });
    const ref = parts[0]!.octets[3];
    expect([...parts[0]!.octets.subarray(0, 6)]).toEqual([0x05, 0x00, 0x03, ref, 2, 1]);
    expect([...parts[1]!.octets.subarray(0, 6)]).toEqual([0x05, 0x00, 0x03, ref, 2, 2]);
    expect(Buffer.concat(parts.map((p) => p.octets.subarray(6)))).toEqual(utf16be(body));
    expect(accepted).toEqual({ providerMessageId: parts[0]!.messageId, partIds: parts.map((p) => p.messageId), response: 'submit_sm_resp OK' });

    await crm.send(sms(body));
    expect(smsc.submitted.slice(-1)[0]!.octets[3]).toBe((ref! + 1) & 0xff); // the next message has the next reference
  });

  it('a numeric sender goes out as an international number', async () => {
    const p = provider({ systemId: 'windowed', sourceAddr: '+4930123456' });
    await p.send(sms('Hello'));
    expect(smsc.submitted.slice(-1)[0]).toMatchObject({ source: '4930123456', sourceTon: 1, sourceNpi: 1 });
  });

  it.each([
    { status: 0x58, name: 'ESME_RTHROTTLED', transient: true },
    { status: 0x14, name: 'ESME_RMSGQFUL', transient: true },
    { status: 0x08, name: 'ESME_RSYSERR', transient: true },
    { status: 0x0b, name: 'ESME_RINVDSTADR', transient: false },
    { status: 0x45, name: 'ESME_RSUBMITFAIL', transient: false },
  ])('submit_sm_resp $name is a refusal with transient $transient', async ({ status, name, transient }) => {
    smsc.statuses.push(status);
    const err = await refusal(crm.send(sms('Hello')));
    expect(err.transient).toBe(transient);
    expect(err.response).toContain(`${name} (0x${status.toString(16).padStart(8, '0')})`);
  });

  it('refuses a recipient that is not an E.164 number without asking the SMSC', async () => {
    const before = smsc.submitted.length;
    const err = await refusal(crm.send(sms('Hello', 'ada@example.org')));
    expect(err.transient).toBe(false);
    expect(smsc.submitted).toHaveLength(before);
  });

  it('an SMSC that cannot be reached is a transient refusal', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const probe = smpp.createServer(() => {});
      probe.listen(0, '127.0.0.1', () => { const { port } = probe.address() as AddressInfo; probe.close(() => resolve(port)); });
    });
    const p = provider({ url: `smpp://crm:hunter2@127.0.0.1:${closedPort}`, reconnectMs: 60_000 });
    const err = await refusal(p.send(sms('Hello')));
    expect(err).toMatchObject({ transient: true, response: expect.stringMatching(/cannot reach SMSC 127\.0\.0\.1:\d+: .*ECONNREFUSED/) });
    expect(err.response).not.toContain('hunter2'); // the text is stored with the message
    await p.close();
  });

  it('a wrong password is a transient refusal that says the bind failed and why', async () => {
    const p = provider({ password: 'wrong', reconnectMs: 60_000 });
    const err = await refusal(p.send(sms('Hello')));
    expect(err.transient).toBe(true);
    expect(err.response).toMatch(/bind refused by SMSC .*ESME_RINVPASWD \(0x0000000e\).*system id and password/);
    await p.close();
  });

  it('a connection the SMSC drops under a submit_sm fails it as transient; the next send binds again and goes through', async () => {
    const binds = smsc.binds.length;
    smsc.dropNext = true;
    const err = await refusal(crm.send(sms('Hello')));
    expect(err.transient).toBe(true);
    expect(err.response).toMatch(/closed before the submit_sm_resp/);
    const accepted = await crm.send(sms('Hello again'));
    expect(accepted.providerMessageId).toBe(smsc.submitted.slice(-1)[0]!.messageId);
    expect(smsc.binds.slice(binds)).toContain('crm');
  });

  it('a submit_sm the SMSC never answers fails as transient after responseTimeoutMs', async () => {
    const p = provider({ systemId: 'windowed', responseTimeoutMs: 300 });
    smsc.silentNext = true;
    const err = await refusal(p.send(sms('Hello')));
    expect(err).toMatchObject({ transient: true, response: expect.stringMatching(/no submit_sm_resp .* within 300 ms/) });
  });

  it('keeps no more than `window` submit_sm waiting for their resp, across sends', async () => {
    const p = provider({ systemId: 'windowed', window: 2 });
    await p.send(sms('warm up')); // bind first, so that all sends below compete for the window
    smsc.delayMs = 50;
    smsc.maxOutstanding = 0;
    try {
      const body = 'x'.repeat(200); // 2 parts each
      const accepted = await Promise.all(Array.from({ length: 4 }, () => p.send(sms(body))));
      expect(accepted.flatMap((a) => a.partIds)).toHaveLength(8);
      expect(smsc.maxOutstanding).toBe(2);
    } finally {
      smsc.delayMs = 0;
    }
  });
});

describe('smppProvider: deliver_sm', () => {
  const receiptText = (id: string, stat: string) => `id:${id} sub:001 dlvrd:001 submit date:2401011200 done date:2401011201 stat:${stat} err:000 text:Hello`;
  const receipt = (text: string, tlvs: Record<string, unknown> = {}) => deliver('crm', {
    source_addr_ton: 1, source_addr_npi: 1, source_addr: '4915112345678', dest_addr_ton: 5, destination_addr: 'TelcoCRM',
    esm_class: 0x04, short_message: Buffer.from(text, 'latin1'), ...tlvs,
  });

  it('a DELIVRD receipt reaches handlers.receipt with the part\'s id, once answered OK', async () => {
    const { providerMessageId } = await crm.send(sms('Hello'));
    const text = receiptText(providerMessageId, 'DELIVRD');
    expect(await receipt(text)).toBe(0);
    expect(received.receipts.slice(-1)).toEqual([{ providerMessageId, state: 'delivered', text }]);
  });

  it.each([
    { stat: 'EXPIRED', state: 'expired' },
    { stat: 'UNDELIV', state: 'failed' },
    { stat: 'REJECTD', state: 'failed' },
    { stat: 'DELETED', state: 'failed' },
    { stat: 'UNKNOWN', state: 'failed' },
  ])('stat:$stat is $state', async ({ stat, state }) => {
    expect(await receipt(receiptText('abc123', stat))).toBe(0);
    expect(received.receipts.slice(-1)[0]).toMatchObject({ providerMessageId: 'abc123', state });
  });

  it('prefers the receipted_message_id and message_state TLVs over the text', async () => {
    expect(await receipt(receiptText('12345', 'DELIVRD'), { receipted_message_id: '3039', message_state: 5 })).toBe(0);
    expect(received.receipts.slice(-1)[0]).toMatchObject({ providerMessageId: '3039', state: 'failed' });
  });

  it('a receipt of a state that is not final is answered and not handed on; one that names no message is answered with a permanent error', async () => {
    const count = received.receipts.length;
    expect(await receipt(receiptText('abc123', 'ENROUTE'))).toBe(0);
    expect(await receipt('stat:DELIVRD')).toBe(smpp.errors.ESME_RX_P_APPN);
    expect(received.receipts).toHaveLength(count);
  });

  const mo = (short_message: Buffer, more: Record<string, unknown> = {}) => deliver('crm', {
    source_addr_ton: 1, source_addr_npi: 1, source_addr: '4915112345678', dest_addr_ton: 3, dest_addr_npi: 0, destination_addr: '80888',
    esm_class: 0, data_coding: 0, short_message, ...more,
  });

  it('a mobile-originated STOP reaches handlers.inbound with the sender in E.164', async () => {
    expect(await mo(Buffer.from('STOP', 'latin1'))).toBe(0);
    expect(received.inbound.slice(-1)).toEqual([{ from: '+4915112345678', to: '80888', text: 'STOP' }]);
  });

  it('decodes from the octets as they came: GSM-7 with extension characters, a UCS-2 part with a user data header, IA5', async () => {
    expect(await mo(Buffer.from([0x00, 0x1b, 0x65, 0x1b, 0x3c]))).toBe(0); // @ € [
    expect(received.inbound.slice(-1)[0]!.text).toBe('@€[');
    expect(await mo(Buffer.concat([Buffer.from([0x05, 0x00, 0x03, 0x07, 0x02, 0x01]), utf16be('Стоп 🙂')]), { data_coding: 8, esm_class: 0x40 })).toBe(0);
    expect(received.inbound.slice(-1)[0]!.text).toBe('Стоп 🙂');
    // The package would read data_coding 1 with its GSM table (@ as ¡, _ as §, $ as ¤).
    expect(await mo(Buffer.from('top_up@crm $5', 'latin1'), { data_coding: 1 })).toBe(0);
    expect(received.inbound.slice(-1)[0]!.text).toBe('top_up@crm $5');
  });

  it('answers a temporary error when the handler fails (the SMSC sends it again), a permanent one for a data coding it cannot read', async () => {
    received.failInbound = true;
    try {
      expect(await mo(Buffer.from('STOP', 'latin1'))).toBe(smpp.errors.ESME_RX_T_APPN);
    } finally {
      received.failInbound = false;
    }
    expect(await mo(Buffer.from([0xde, 0xad]), { data_coding: 4 })).toBe(smpp.errors.ESME_RX_P_APPN);
  });

  it('binds again by itself after the SMSC drops the connection, so receipts keep coming with nothing to send', async () => {
    await crm.send(sms('Hello')); // bound
    const binds = smsc.binds.length;
    smsc.sessions.get('crm')!.destroy();
    await waitFor('the provider to bind again', () => smsc.binds.slice(binds).includes('crm'));
    expect(await receipt(receiptText('after-reconnect', 'DELIVRD'))).toBe(0);
    expect(received.receipts.slice(-1)[0]).toMatchObject({ providerMessageId: 'after-reconnect', state: 'delivered' });
  });
});

describe('smppProvider: enquire_link', () => {
  it('checks the link on a timer and, when the SMSC stops answering, drops it and binds again', async () => {
    const p = provider({ systemId: 'keepalive', enquireLinkMs: 50, responseTimeoutMs: 200 });
    await p.send(sms('Hello'));
    const binds = smsc.binds.length;
    const links = smsc.enquireLinks;
    await waitFor('an enquire_link', () => smsc.enquireLinks > links);
    smsc.deaf = true;
    try {
      await waitFor('the provider to bind again', () => smsc.binds.slice(binds).includes('keepalive'));
    } finally {
      smsc.deaf = false;
    }
    expect((await p.send(sms('Hello again'))).providerMessageId).toBe(smsc.submitted.slice(-1)[0]!.messageId);
  });
});

describe('smppProvider: close', () => {
  it('unbinds and closes; it does not bind again afterwards, and a send is refused', async () => {
    const p = provider({ systemId: 'windowed', reconnectMs: 20 });
    await p.send(sms('Hello'));
    const binds = smsc.binds.length;
    await p.close();
    expect(smsc.unbinds).toContain('windowed');
    await new Promise((r) => setTimeout(r, 100)); // five reconnect periods: proving an absence needs a span of time
    expect(smsc.binds).toHaveLength(binds);
    expect((await refusal(p.send(sms('Hello')))).response).toMatch(/closed/);
  });
});
