import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/** A real SMTP server on loopback: it keeps what it is sent, or refuses the next ones with a code when told. */
export async function smtpSink() {
  const received: { to: string; raw: string }[] = [];
  const refusal = { code: 0, times: 0, text: '' };
  const server = new SMTPServer({
    authOptional: true, disabledCommands: ['STARTTLS'], logger: false,
    onData(stream, session, callback) {
      let raw = '';
      stream.on('data', (c: Buffer) => { raw += c.toString('utf8'); });
      stream.on('end', () => {
        if (refusal.times > 0) {
          refusal.times -= 1;
          return callback(Object.assign(new Error(refusal.text || (refusal.code >= 500 ? 'Mailbox unavailable' : 'Try again later')), { responseCode: refusal.code }));
        }
        received.push({ to: session.envelope.rcptTo.map((r) => r.address).join(','), raw });
        return callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `smtp://127.0.0.1:${(server.server.address() as AddressInfo).port}`,
    received,
    to: (address: string) => received.filter((m) => m.to === address),
    refuse(code: number, times: number, text = '') { Object.assign(refusal, { code, times, text }); },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
