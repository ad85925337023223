import { randomUUID } from 'node:crypto';
import { LeadCaptured } from '../../events/contacts.ts';
import { makeEvent, type OutgoingEvent } from '../../events/contract.ts';
import { wordingHash } from '../contacts/evidence.ts';
import type { ContactService } from '../contacts/contact-service.ts';
import type { ConsentGrant } from '../contacts/contact-store.ts';
import type { ContactInput } from '../contacts/model.ts';
import { timeZoneForPhone } from '../contacts/timezone.ts';
import { issuesFromZod, type ValidationIssue } from '../errors.ts';
import { logger } from '../logger.ts';
import type { RateLimiter } from '../rate-limit.ts';
import { CaptchaFailedError } from './captcha.ts';
import { CAPTCHA_RESPONSE_FIELD, type Form } from './definition.ts';
import { buildSubmissionSchema, honeypotFilled } from './submission.ts';

export interface SubmissionMeta {
  ip: string;
  userAgent: string;
  /** The Origin header of the page that posted, when there was one. */
  origin?: string;
}

export type SubmissionOutcome =
  | { kind: 'accepted'; confirmationRequired: boolean }
  | { kind: 'invalid'; issues: ValidationIssue[] };

export interface SubmitDeps {
  contacts: ContactService;
  rateLimiter: RateLimiter;
  publish: (events: OutgoingEvent[]) => Promise<void>;
  /** Verifies a captcha response; only called for forms that ask for one. */
  verifyCaptcha: (form: Form, token: string | undefined, ip: string) => Promise<void>;
  /** Keyed hash for rate-limit keys, so raw IPs are not stored. */
  hash: (purpose: string, value: string) => Promise<string>;
}

const schemas = new WeakMap<Form, ReturnType<typeof buildSubmissionSchema>>();

/** The honeypot check runs before anything else, on the raw fields: a bot learns nothing and nothing is stored. */
export function honeypotIn(form: Form, fields: Record<string, unknown>): boolean {
  return honeypotFilled(fields[form.honeypotField]);
}

/**
 * One public form submission: honeypot, rate limits (per IP and per form, across all Lambda
 * instances), validation built from the form, optional captcha, then the capture under the
 * public-input rule (shared/contacts/public-capture.ts): a new address makes a contact; an
 * existing contact gets consent records and the submission on its timeline, with its changes
 * held for the owner's confirmation; and the events (lead.captured among them).
 */
export async function submitForm(form: Form, fields: Record<string, unknown>, meta: SubmissionMeta, deps: SubmitDeps, now = new Date()): Promise<SubmissionOutcome> {
  if (honeypotIn(form, fields)) {
    logger.info('honeypot filled; submission dropped', { formId: form.id });
    return { kind: 'accepted', confirmationRequired: form.doubleOptIn };
  }
  const ipKey = await deps.hash('rate-limit-ip', meta.ip);
  await deps.rateLimiter.hit([
    { key: `form#${form.id}#ip#${ipKey}`, limit: form.rateLimit.perIpPerMinute, windowSeconds: 60 },
    { key: `form#${form.id}`, limit: form.rateLimit.perFormPerMinute, windowSeconds: 60 },
  ]);

  let schema = schemas.get(form);
  if (!schema) {
    schema = buildSubmissionSchema(form);
    schemas.set(form, schema);
  }
  const parsed = schema.safeParse(fields);
  if (!parsed.success) return { kind: 'invalid', issues: issuesFromZod(parsed.error.issues) };
  const submission = parsed.data;

  if (form.captcha) {
    try {
      await deps.verifyCaptcha(form, submission.captchaToken, meta.ip);
    } catch (error) {
      if (error instanceof CaptchaFailedError) return { kind: 'invalid', issues: [{ path: CAPTCHA_RESPONSE_FIELD[form.captcha.provider], message: error.message }] };
      throw error;
    }
  }

  const at = now.toISOString();
  const input: ContactInput = {
    email: submission.email,
    phone: submission.phone,
    country: submission.country,
    attributes: submission.attributes,
    tags: form.tags ?? [],
  };
  if (submission.timezone) {
    input.timezone = submission.timezone;
    input.timezoneSource = 'form';
  } else if (submission.phone) {
    const inferred = timeZoneForPhone(submission.phone);
    if (inferred) Object.assign(input, { timezone: inferred.timezone, timezoneSource: 'phone' });
  }

  const grants: ConsentGrant[] = [];
  for (const channel of ['email', 'sms'] as const) {
    const wording = form.consent?.[channel];
    if (!submission.consent[channel] || !wording) continue;
    const doubleOptIn = channel === 'email' && form.doubleOptIn;
    grants.push({
      channel,
      status: doubleOptIn ? 'pending' : 'confirmed',
      record: {
        at,
        source: 'form',
        formId: form.id,
        wordingVersion: wording.version,
        wordingHash: wordingHash(wording.text),
        ip: meta.ip,
        userAgent: meta.userAgent.slice(0, 512),
        doubleOptIn: doubleOptIn ? 'pending' : 'not_required',
      },
    });
  }

  const events: OutgoingEvent[] = [];
  const submissionId = randomUUID();
  const outcome = await deps.contacts.capture(input, grants, { formId: form.id, submissionId, at, ip: meta.ip, userAgent: meta.userAgent, ...(meta.origin ? { origin: meta.origin } : {}) }, events);
  // What the visitor is told depends on the form and what they ticked, never on what is stored:
  // the answer does not reveal whether the address was known, unsubscribed or erased.
  const accepted: SubmissionOutcome = { kind: 'accepted', confirmationRequired: form.doubleOptIn && submission.consent.email };
  if (outcome.kind === 'discarded') {
    // An erased person's address: not stored; only the owner (through a marketer's consent evidence) can bring it back.
    logger.info('submission for an erased address; not stored', { formId: form.id });
    return accepted;
  }
  const { result } = outcome;
  const emailRecord = result.consentRecords.find((r) => r.channel === 'email');
  // The email consent waits for the owner: double opt-in, or an address whose consent was withdrawn (confirmed or not, only the owner brings it back).
  const consentPending = Boolean(emailRecord && (result.contact.consent.email?.status === 'pending' || outcome.emailWithdrawn));
  const confirmationNeeded = consentPending || outcome.held;
  events.push(
    makeEvent(LeadCaptured, {
      contactId: result.contact.id,
      formId: form.id,
      submissionId,
      created: result.created,
      consent: Object.fromEntries(grants.filter((g) => result.contact.consent[g.channel]).map((g) => [g.channel, result.contact.consent[g.channel]!.status])),
      confirmationNeeded,
      ...(consentPending && emailRecord ? { consentRecordId: emailRecord.id, consentRecordAt: emailRecord.at } : {}),
      ...(outcome.held ? { heldChangeId: outcome.entrySk, ...(outcome.heldDigest ? { heldChangeDigest: outcome.heldDigest } : {}) } : {}),
      occurredAt: at,
    }),
  );
  await deps.publish(events);
  return accepted;
}
