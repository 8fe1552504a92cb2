import { SYSTEM_AUDIT } from '../common/decorators/audit.decorator';
import { refusalMessage } from './webhook-client.service';
import { webhookEventOf } from './webhook-outbox.service';

describe('refusalMessage: the receiver’s own words', () => {
  it.each([
    ['{"msg":"no sign-ups from here","message":"other"}', 'no sign-ups from here'],
    ['{"message":"closed today"}', 'closed today'],
    ['{"error_description":"not invited","error":"access_denied"}', 'not invited'],
    ['{"error":"nope"}', 'nope'],
    ['{"msg":"  "}', '{"msg":"  "}'],
    ['  plain text refusal \n', 'plain text refusal'],
    ['', 'the webhook receiver answered HTTP 403'],
    ['null', 'null'],
  ])('%j → %j', (body, message) => {
    expect(refusalMessage(body, 403)).toBe(message);
  });

  it('keeps at most 500 characters', () => {
    expect(refusalMessage('x'.repeat(2000), 400)).toHaveLength(500);
  });
});

describe('webhookEventOf: which domain events are GoTrue webhooks', () => {
  const userId = '3fe06eaa-6564-4a9a-8f71-361e796781eb';
  const admin = { actorId: 'a5b6c7d8-e901-4fab-9bcd-123456789abc', requestId: null };

  it('signup: an account created by its owner (anonymous or the account itself), not by an admin', () => {
    expect(webhookEventOf({ operation: 'user.create', userId, audit: SYSTEM_AUDIT, data: {} })).toBe('signup');
    expect(webhookEventOf({ operation: 'user.create', userId, audit: { actorId: userId, requestId: null }, data: {} })).toBe('signup');
    expect(webhookEventOf({ operation: 'user.create', userId, audit: admin, data: {} })).toBeUndefined();
  });

  it('login: every new session; nothing else', () => {
    expect(webhookEventOf({ operation: 'user.issue_token', userId, audit: admin, data: {} })).toBe('login');
    for (const operation of ['user.refresh_token', 'user.oauth_login', 'user.verify_email', 'user.logout'] as const) {
      expect(webhookEventOf({ operation, userId, audit: SYSTEM_AUDIT, data: {} })).toBeUndefined();
    }
  });
});
