import { AddressInfo } from 'node:net';
import { ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  to: string;
  subject: string;
  html: string;
  text: string;
  parsed: ParsedMail;
}

/**
 * A real SMTP server on loopback (smtp-server), keeping every mail it accepts, parsed (mailparser).
 * It can be stopped and started again on the same port, to play an SMTP outage.
 */
export class SmtpSink {
  readonly mails: ReceivedMail[] = [];
  private server?: SMTPServer;
  port = 0;

  async start(): Promise<this> {
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData: (stream, _session, done) => {
        simpleParser(stream)
          .then((parsed) => {
            const to = Array.isArray(parsed.to) ? parsed.to.map((a) => a.text).join(', ') : (parsed.to?.text ?? '');
            this.mails.push({ to, subject: parsed.subject ?? '', html: String(parsed.html || ''), text: parsed.text ?? '', parsed });
            done();
          })
          .catch(done);
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.server.address() as AddressInfo).port;
    this.server = server;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The mails to `address` so far. */
  to(address: string): ReceivedMail[] {
    return this.mails.filter((mail) => mail.to.includes(address));
  }

  /** Waits for the `count`-th mail to `address` (a guard against a hang, not a timing assertion). */
  async waitFor(address: string, count = 1, timeoutMs = 20_000): Promise<ReceivedMail> {
    const deadline = Date.now() + timeoutMs;
    while (this.to(address).length < count) {
      if (Date.now() > deadline) throw new Error(`no mail #${count} to ${address} after ${timeoutMs} ms (got ${this.to(address).length})`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return this.to(address)[count - 1];
  }
}

/** The link of a mail: the first http(s) URL carrying a `token` query parameter. */
export function linkIn(mail: ReceivedMail): URL {
  const match = /https?:\/\/[^\s"'<>]+token=[A-Za-z0-9._%-]+/.exec(mail.html);
  if (!match) throw new Error(`no link in the mail "${mail.subject}"`);
  return new URL(match[0].replace(/&amp;/g, '&'));
}
