import * as z from 'zod';
import { ContactBody, CountryField, EmailField, evidenceToGrants, PatchBody, phoneOrIssue, toContactInput } from '../../shared/contacts/api-schemas.ts';
import type { ContactInput } from '../../shared/contacts/model.ts';
import { runImport } from '../../shared/contacts/import.ts';
import { CONTACT_TABLES, contactsFrom } from '../../shared/contacts/wiring.ts';
import { contactResource, timelineEntryResource } from '../../shared/contacts/resources.ts';
import { behaviourSummary } from '../../shared/activity/activity.ts';
import type { ErasureHook } from '../../shared/contacts/contact-service.ts';
import { CampaignStore } from '../../shared/campaigns/campaign-store.ts';
import { parseSendId, SendStore } from '../../shared/campaigns/send-store.ts';
import { functionConfig } from '../../shared/config.ts';
import { useProjectSecret } from '../../shared/aws/secrets.ts';
import { ConflictError, NotFoundError } from '../../shared/errors.ts';
import { httpApi, json, noContent, route, type JwtClaims } from '../../shared/http/api.ts';

const config = functionConfig('contacts-api', { tables: { ...CONTACT_TABLES, campaigns: true, sends: true }, queues: {}, publishesEvents: true, usesSecret: true });
useProjectSecret(config.secretArn);
const campaigns = new CampaignStore(config.tables.campaigns);
const sends = new SendStore(config.tables.sends);
/** Erasure also moves the person's send records (every run of every campaign, holdouts included) to their pseudonym. */
const pseudonymiseSends: ErasureHook = async (contactId, pseudonym, { sendIds }) => {
  const fromTimeline = sendIds.flatMap((s) => {
    const parsed = parseSendId(s);
    return parsed ? [{ campaignId: parsed.campaignId, runId: parsed.runId }] : [];
  });
  await sends.pseudonymise(contactId, pseudonym, [...(await campaigns.runs()), ...fromTimeline]);
};
const { store, service, suppressions, timeline, publish } = contactsFrom(config, { erasureHooks: [pseudonymiseSends] });

const IdParams = z.object({ id: z.uuid('must be a contact id') });
const actorOf = (claims: JwtClaims | undefined): string | undefined => (typeof claims?.sub === 'string' ? claims.sub : undefined);

/** Contact body → store input and consent grants; phone problems become issues at `phone`. */
const UpsertBody = ContactBody.transform((body, ctx) => {
  const input: ContactInput = toContactInput(body, ctx);
  if (!input.email && !input.phone && body.phone === undefined) {
    ctx.addIssue({ code: 'custom', path: ['email'], message: 'a contact needs an email or a phone' });
  }
  for (const channel of ['email', 'sms'] as const) {
    if (body.consent?.[channel] && !(channel === 'email' ? body.email : body.phone)) {
      ctx.addIssue({ code: 'custom', path: ['consent', channel], message: `needs ${channel === 'email' ? 'an email' : 'a phone'}` });
    }
  }
  return { input, consent: body.consent };
});

const PatchContact = PatchBody.transform((body, ctx) => {
  const phone = body.phone === null ? null : body.phone === undefined ? undefined : phoneOrIssue(body.phone, body.country ?? undefined, ctx)?.e164;
  return { ...body, phone };
});

const SuppressionBody = z
  .strictObject({
    email: EmailField.optional(),
    phone: z.string().max(40).optional(),
    country: CountryField.optional(),
    channel: z.enum(['email', 'sms']),
    reason: z.enum(['unsubscribed', 'opted_out', 'manual', 'bounced', 'complained']),
    note: z.string().max(500).optional(),
  })
  .transform((body, ctx) => {
    const address = body.channel === 'email' ? body.email : phoneOrIssue(body.phone, body.country, ctx)?.e164;
    if (body.channel === 'email' && !body.email) ctx.addIssue({ code: 'custom', path: ['email'], message: 'is required for the email channel' });
    if (body.channel === 'sms' && !body.phone) ctx.addIssue({ code: 'custom', path: ['phone'], message: 'is required for the sms channel' });
    if (body.channel === 'email' && body.phone) ctx.addIssue({ code: 'custom', path: ['phone'], message: 'does not go with the email channel' });
    if (body.channel === 'sms' && body.email) ctx.addIssue({ code: 'custom', path: ['email'], message: 'does not go with the sms channel' });
    return { ...body, address: address ?? '' };
  });

async function contactView(id: string) {
  const stored = await store.get(id, true);
  if (!stored) throw new NotFoundError('contact', id);
  const [contact] = (await timeline.activity.attach([stored], { consistent: true })) as [typeof stored];
  const suppression = await service.suppressionState(contact);
  const reachable = {
    email: Boolean(contact.email && contact.consent.email?.status === 'confirmed' && !suppression.email),
    sms: Boolean(contact.phone && contact.consent.sms?.status === 'confirmed' && !suppression.sms),
  };
  const suppressed = {
    email: suppression.email ? { reasons: Object.keys(suppression.email.reasons), since: suppression.email.updatedAt } : null,
    sms: suppression.sms ? { reasons: Object.keys(suppression.sms.reasons), since: suppression.sms.updatedAt } : null,
  };
  return { contact: { ...contactResource(contact), behaviour: behaviourSummary(contact.activity) }, suppressed, reachable };
}

export const handler = httpApi({
  'POST /v1/contacts': route({
    body: UpsertBody,
    handle: async ({ body, claims }) => {
      const grants = evidenceToGrants(body.consent, 'api', actorOf(claims), {});
      const result = await service.upsert(body.input, 'api', { consents: grants, onIdentityConflict: 'reject' });
      return json(result.created ? 201 : 200, { ...(await contactView(result.contact.id)), created: result.created, changed: result.changed });
    },
  }),

  'GET /v1/contacts': route({
    query: z
      .strictObject({
        email: EmailField.optional(),
        phone: z.string().max(40).optional(),
        country: CountryField.optional(),
        limit: z.coerce.number().int().min(1).max(200).default(50),
        cursor: z.string().optional(),
      })
      .transform((q, ctx) => ({ ...q, phone: q.phone === undefined ? undefined : phoneOrIssue(q.phone, q.country, ctx)?.e164 })),
    handle: async ({ query }) => {
      if (query.email || query.phone) {
        const contact = query.email ? await store.findByEmail(query.email) : await store.findByPhone(query.phone!);
        return json(200, { items: contact ? [contactResource(contact)] : [] });
      }
      const page = await store.page(query.limit, query.cursor);
      return json(200, { items: page.items.map(contactResource), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) });
    },
  }),

  'GET /v1/contacts/{id}': route({
    params: IdParams,
    handle: async ({ params }) => json(200, await contactView(params.id)),
  }),

  'PATCH /v1/contacts/{id}': route({
    params: IdParams,
    body: PatchContact,
    handle: async ({ params, body }) => {
      const result = await service.patch(params.id, body);
      if (!result) throw new NotFoundError('contact', params.id);
      return json(200, { ...(await contactView(params.id)), changed: result.changed });
    },
  }),

  'DELETE /v1/contacts/{id}': route({
    params: IdParams,
    handle: async ({ params }) => {
      if (!(await service.erase(params.id))) throw new NotFoundError('contact', params.id);
      return noContent();
    },
  }),

  'GET /v1/contacts/{id}/export': route({
    params: IdParams,
    handle: async ({ params }) => {
      const data = await service.export(params.id);
      if (!data) throw new NotFoundError('contact', params.id);
      return json(200, data, { 'content-disposition': `attachment; filename="contact-${params.id}.json"` });
    },
  }),

  'GET /v1/contacts/{id}/timeline': route({
    params: IdParams,
    query: z.object({ limit: z.coerce.number().int().min(1).max(100).default(25), cursor: z.string().optional() }),
    handle: async ({ params, query }) => {
      if (!(await store.get(params.id))) throw new NotFoundError('contact', params.id);
      const page = await timeline.page(params.id, query.limit, query.cursor);
      return json(200, { items: page.items.map(timelineEntryResource), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) });
    },
  }),

  // A marketer applies what a public form submission held back for an existing contact.
  'POST /v1/contacts/{id}/submissions/{submissionId}/apply': route({
    params: z.object({ id: z.uuid('must be a contact id'), submissionId: z.uuid('must be a submission id') }),
    handle: async ({ params, claims }) => {
      const entry = await service.submissionEntry(params.id, params.submissionId);
      if (!entry) throw new NotFoundError('submission', params.submissionId);
      const outcome = await service.applyHeld(params.id, entry.sk, `api:${actorOf(claims) ?? 'unknown'}`);
      if (outcome.kind === 'not-found') throw new ConflictError('This submission holds no changes to apply', 'nothing_held');
      if (outcome.kind === 'already-applied') throw new ConflictError('This submission was applied already', 'already_applied');
      return json(200, { ...(await contactView(params.id)), changed: outcome.result.changed });
    },
  }),

  'POST /v1/contacts/import': route({
    bodyFormat: 'raw',
    maxBodyBytes: 10 * 1024 * 1024,
    handle: async ({ rawBody, headers, claims }) => {
      const result = await runImport(rawBody, headers['content-type'], { service, store, publish }, actorOf(claims));
      return json(200, result);
    },
  }),

  'POST /v1/suppressions': route({
    body: SuppressionBody,
    handle: async ({ body, claims }) => {
      const at = new Date().toISOString();
      await service.suppress(body.channel, body.address, body.reason, { at, source: `api:${actorOf(claims) ?? 'unknown'}`, ...(body.note ? { note: body.note } : {}) });
      const current = await suppressions.get(body.channel, body.address);
      return json(201, { channel: body.channel, reasons: Object.keys(current?.reasons ?? {}), since: current?.updatedAt });
    },
  }),
});
