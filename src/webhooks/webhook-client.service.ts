import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { JwtService } from '@nestjs/jwt';
import { appConfig } from '../config/app.config';
import { WebhookEvent, webhooksConfig } from '../config/webhooks.config';
import { GoTrueUserDto } from '../gotrue/dto/gotrue.dto';

/** GoTrue's header for the request's signature (its hooks.go), and the JWS's issuer. */
export const SIGNATURE_HEADER = 'x-webhook-signature';
const ISSUER = 'gotrue';
/** The longest part of a refusal's body that is kept as its message. */
const MESSAGE_MAX = 500;

/** What the receiver made of one request. */
export type WebhookAnswer =
  | { outcome: 'accepted'; status: number }
  /** It answered with a status other than 2xx: `message` is what it said. */
  | { outcome: 'refused'; status: number; message: string }
  /** No answer: unreachable, or none within WEBHOOK_TIMEOUT_SEC. */
  | { outcome: 'unavailable'; timedOut: boolean; message: string };

/**
 * Sends one of GoTrue's hook requests: POST WEBHOOK_URL with `{"event", "instance_id", "user"}` and,
 * as GoTrue does, an HS256 JWS signed with WEBHOOK_SECRET in `x-webhook-signature` (also as
 * `Authorization: Bearer`) whose claims are `iss: "gotrue"`, `sub` (the instance id), `iat` and
 * `sha256`, the hex SHA-256 of the exact body. The whole exchange, body included, must end within
 * WEBHOOK_TIMEOUT_SEC; a redirect is an answer (not followed).
 */
@Injectable()
export class WebhookClient {
  private readonly jwt: JwtService;

  constructor(
    @Inject(webhooksConfig.KEY) private readonly config: ConfigType<typeof webhooksConfig>,
    @Inject(appConfig.KEY) private readonly app: ConfigType<typeof appConfig>,
  ) {
    this.jwt = new JwtService({ secret: config.secret, signOptions: { algorithm: 'HS256' } });
  }

  /** Whether `event` is sent (WEBHOOK_URL set and the event in WEBHOOK_EVENTS). */
  sends(event: WebhookEvent): boolean {
    return this.config.events.has(event);
  }

  async send(event: WebhookEvent, user: GoTrueUserDto): Promise<WebhookAnswer> {
    const body = JSON.stringify({ event, instance_id: this.app.instanceId, user });
    const signature = this.jwt.sign({ sub: this.app.instanceId, iss: ISSUER, sha256: createHash('sha256').update(body).digest('hex') });
    const timeoutSec = this.config.timeoutMs / 1000;
    try {
      const response = await fetch(this.config.url!, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signature, authorization: `Bearer ${signature}` },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.config.timeoutMs),
      });
      const text = await response.text();
      if (response.status >= 200 && response.status < 300) return { outcome: 'accepted', status: response.status };
      return { outcome: 'refused', status: response.status, message: refusalMessage(text, response.status) };
    } catch (error) {
      const timedOut = (error as Error).name === 'TimeoutError';
      const message = timedOut ? `the webhook receiver did not answer within ${timeoutSec} s` : `the webhook receiver could not be reached (${causeOf(error)})`;
      return { outcome: 'unavailable', timedOut, message };
    }
  }
}

/** The receiver's own words: GoTrue's `msg`, or `message`/`error_description`/`error` of a JSON body, else the text; its status when it said nothing. */
export function refusalMessage(body: string, status: number): string {
  let message = body.trim();
  try {
    const parsed = JSON.parse(body) as Record<string, unknown>;
    const field = ['msg', 'message', 'error_description', 'error'].map((name) => parsed?.[name]).find((value) => typeof value === 'string' && value.trim() !== '');
    if (typeof field === 'string') message = field.trim();
  } catch {
    // Not JSON: the text as it is.
  }
  return message ? message.slice(0, MESSAGE_MAX) : `the webhook receiver answered HTTP ${status}`;
}

function causeOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message ?? String(error);
}
