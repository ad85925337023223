import * as z from 'zod';
import { useProjectSecret } from '../../shared/aws/secrets.ts';
import { emailProviderFrom, smsProviderFrom } from '../../shared/campaigns/providers/index.ts';
import type { MessageProvider } from '../../shared/campaigns/providers/provider.ts';
import { functionConfig } from '../../shared/config.ts';
import { CONTACT_TABLES, contactsFrom } from '../../shared/contacts/wiring.ts';
import { NotFoundError } from '../../shared/errors.ts';
import { httpApi, json, route, type HttpResult } from '../../shared/http/api.ts';
import { MessageStore } from '../../shared/messages/message-store.ts';
import { idempotencyKeyOf, MessageInput, messageView, sendMessage, type MessageDeps, type MessageOutcome } from '../../shared/messages/transactional.ts';
import { TemplateStore } from '../../shared/templates/template-store.ts';

const config = functionConfig('messages-api', {
  tables: { ...CONTACT_TABLES, templates: true, sends: true },
  queues: {},
  publishesEvents: true,
  usesSecret: true,
  sendsEmail: true,
  sendsSms: true,
  linksToPublicApi: true,
});
useProjectSecret(config.secretArn);
const contacts = contactsFrom(config);
const messages = new MessageStore(config.tables.sends);
const providers: Partial<Record<'email' | 'sms', Promise<MessageProvider>>> = {};
const deps: MessageDeps = {
  messages,
  templates: new TemplateStore(config.tables.templates),
  contacts: contacts.store,
  contactService: contacts.service,
  suppressions: contacts.suppressions,
  timeline: contacts.timeline,
  provider: (channel) => (providers[channel] ??= channel === 'email' ? Promise.resolve(emailProviderFrom(config.email)) : smsProviderFrom(config.sms)),
  publicBaseUrl: config.publicBaseUrl,
  senderAddress: config.email.senderAddress,
};

const REFUSALS: Record<string, string> = {
  erased: 'The recipient asked to be erased',
  complained: 'The address complained about a message (spam report)',
  bounced: 'The address bounced permanently',
  opted_out: 'The number opted out of SMS (STOP)',
};

/** An outcome as HTTP: 201 sent (200 on a replay), 422 refused or rejected, 502 outcome unknown, 409/503 with Retry-After. */
function answer(outcome: MessageOutcome): HttpResult {
  if (outcome.kind === 'retry') {
    const message = outcome.code === 'in_progress' ? 'A request with this idempotency key is being processed; retry shortly' : 'The provider cannot take the message right now; retry with the same idempotency key';
    return json(outcome.status, { error: { code: outcome.code, message, messageId: outcome.messageId } }, { 'retry-after': String(outcome.retryAfterSeconds) });
  }
  const view = messageView(outcome.message);
  const replay = { 'idempotent-replayed': String(outcome.replayed) };
  if (outcome.kind === 'sent') return json(outcome.replayed ? 200 : 201, { message: view, replayed: outcome.replayed }, replay);
  const reason = outcome.message.reason ?? 'unknown';
  if (outcome.kind === 'refused') return json(422, { error: { code: 'recipient_suppressed', reason, message: REFUSALS[reason] ?? 'The recipient may not receive messages', messageId: view.id }, message: view }, replay);
  if (reason === 'outcome_unknown') {
    return json(502, { error: { code: 'provider_outcome_unknown', reason, message: 'The provider may or may not have taken the message; it will not be sent again with this key', messageId: view.id }, message: view }, replay);
  }
  return json(422, { error: { code: 'provider_rejected', reason, message: 'The provider refused the message', messageId: view.id }, message: view }, replay);
}

export const handler = httpApi({
  'POST /v1/messages': route({
    body: MessageInput,
    maxBodyBytes: 64 * 1024,
    handle: async ({ body, headers }) => answer(await sendMessage(body, idempotencyKeyOf(headers['idempotency-key'], body), deps)),
  }),
  'GET /v1/messages/{id}': route({
    params: z.object({ id: z.string().regex(/^msg_[A-Za-z0-9_-]{32}$/, 'must be a message id') }),
    handle: async ({ params }) => {
      const record = await messages.get(params.id);
      if (!record) throw new NotFoundError('message', params.id);
      return json(200, { message: messageView(record) });
    },
  }),
});
