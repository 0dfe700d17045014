import type { AddressInfo } from 'node:net';
import smpp from 'smpp';

// The package decodes a received short_message into text with its own tables; this SMSC keeps the octets as sent.
const shortMessage = smpp.commands.submit_sm.params!.short_message;
shortMessage.filter = { encode: shortMessage.filter!.encode, decode: (value) => value };

/**
 * A real SMSC on loopback for one system id: accepts every submit_sm (or refuses the next ones with
 * a status, or drops the connection under them), keeps what it was sent, and sends delivery receipts and customers' messages on demand.
 */
export async function smscSink(systemId = 'crm', password = 'secret') {
  const submitted: { messageId: string; destination: string; octets: Buffer; dataCoding: number; esmClass: number }[] = [];
  const refusals: number[] = [];
  let drops = 0;
  let bound: smpp.Session | undefined;
  let next = 0;
  const server = smpp.createServer((session) => {
    session.on('error', () => {});
    session.on('bind_transceiver', (pdu: smpp.PDU) => {
      if (pdu.system_id !== systemId || pdu.password !== password) {
        session.send(pdu.response({ command_status: smpp.errors.ESME_RINVPASWD }));
        session.close();
        return;
      }
      bound = session;
      session.send(pdu.response({ system_id: 'test-smsc' }));
    });
    session.on('submit_sm', (pdu: smpp.PDU) => {
      if (drops > 0) {
        drops -= 1;
        return session.destroy(); // gone before its submit_sm_resp
      }
      const status = refusals.shift() ?? 0;
      if (status) return session.send(pdu.response({ command_status: status }));
      const messageId = `s${(++next).toString(16).padStart(8, '0')}`;
      submitted.push({ messageId, destination: pdu.destination_addr!, octets: pdu.short_message as Buffer, dataCoding: pdu.data_coding!, esmClass: pdu.esm_class! });
      return session.send(pdu.response({ message_id: messageId }));
    });
    session.on('enquire_link', (pdu: smpp.PDU) => session.send(pdu.response()));
    session.on('unbind', (pdu: smpp.PDU) => { session.send(pdu.response()); session.close(); });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const deliver = (params: Record<string, unknown>) => new Promise<number>((resolve, reject) => {
    if (!bound?.deliver_sm(params, (resp) => resolve(resp.command_status))) reject(new Error('no bound session'));
  });
  return {
    url: `smpp://${systemId}:${password}@127.0.0.1:${(server.address() as AddressInfo).port}`,
    submitted,
    refuse(...statuses: number[]) { refusals.push(...statuses); },
    /** Drops the connection on the next `n` submit_sm, unanswered. */
    drop(n: number) { drops += n; },
    /** A final delivery receipt for a part, as SMSCs write them. */
    receipt: (messageId: string, stat: 'DELIVRD' | 'UNDELIV' | 'EXPIRED') => deliver({
      source_addr_ton: 1, source_addr_npi: 1, source_addr: '0', destination_addr: 'TelcoCRM', esm_class: 0x04,
      short_message: Buffer.from(`id:${messageId} sub:001 dlvrd:001 submit date:2611240600 done date:2611240601 stat:${stat} err:000 text:`, 'latin1'),
    }),
    /** A customer's SMS to the short code (GSM-7, unpacked). */
    mo: (from: string, text: string) => deliver({
      source_addr_ton: 1, source_addr_npi: 1, source_addr: from.replace(/^\+/, ''), dest_addr_ton: 3, destination_addr: '80888', esm_class: 0, data_coding: 0,
      short_message: Buffer.from(text, 'latin1'),
    }),
    waitBound: async () => { for (let i = 0; i < 100 && !bound; i++) await new Promise((r) => setTimeout(r, 20)); },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
