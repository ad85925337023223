import { createHash } from 'node:crypto';
import { PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { z } from 'zod';
import { documentClient } from '../aws/dynamodb.ts';
import type { ContactStore } from '../contacts/contact-store.ts';
import { InvalidEmailError, normalizeEmail } from '../contacts/email.ts';
import type { LeadScorer } from '../contacts/lead-scoring.ts';
import { InvalidPhoneError, normalizePhone } from '../contacts/phone.ts';
import type { Timeline } from '../contacts/timeline.ts';
import type { ValidationIssue } from '../errors.ts';
import { isStorableNumber, NUMBER_RANGE } from '../numbers.ts';
import { recordConversion } from '../responses/conversions.ts';
import { CampaignGoal, emptyCounters, type Campaign } from './model.ts';
import { sendIdOf, sendPk, type SendRecord } from './send-store.ts';

const ContactRef = z.union([
  z.strictObject({ contactId: z.uuid('must be a contact id') }),
  z.strictObject({ email: z.string().max(320) }),
  z.strictObject({ phone: z.string().max(40), country: z.string().length(2).optional() }),
]);
const Instant = z.iso.datetime({ offset: true });

export const HistoryImport = z.strictObject({
  campaign: z.strictObject({
    /** Your id for the campaign in the old tool: importing it again changes nothing. */
    externalId: z.string().trim().min(1).max(200),
    name: z.string().trim().min(1).max(200),
    launchedAt: Instant,
    goal: CampaignGoal,
    costPerMessage: z.strictObject({ email: z.number().min(0).max(10).refine(isStorableNumber, NUMBER_RANGE).optional(), sms: z.number().min(0).max(10).refine(isStorableNumber, NUMBER_RANGE).optional() }).prefault({}),
  }),
  sends: z
    .array(z.strictObject({ contact: ContactRef, channel: z.enum(['email', 'sms']), sentAt: Instant, holdout: z.boolean().default(false), variant: z.string().trim().min(1).max(100).default('A') }))
    .min(1)
    .max(10_000),
  interactions: z
    .array(
      z.strictObject({
        contact: ContactRef,
        type: z.enum(['delivered', 'opened', 'clicked', 'bounced', 'complained', 'unsubscribed']),
        occurredAt: Instant,
        link: z.url().optional(),
      }),
    )
    .max(20_000)
    .default([]),
  conversions: z
    .array(
      z.strictObject({
        contact: ContactRef,
        name: z.string().trim().min(1).max(100).regex(/^[A-Za-z0-9_.:-]+$/),
        value: z.number().min(0).refine(isStorableNumber, NUMBER_RANGE).optional(),
        currency: z.string().regex(/^[A-Z]{3}$/).optional(),
        occurredAt: Instant,
        idempotencyKey: z.string().trim().min(1).max(200).optional(),
      }),
    )
    .max(20_000)
    .default([]),
});
export type HistoryImport = z.output<typeof HistoryImport>;

export interface HistoryImportResult {
  campaignId: string;
  created: boolean;
  summary: { sends: number; holdout: number; interactions: number; conversions: number; failed: number };
  failures: Array<ValidationIssue & { index: number }>;
}

/** A stable id from the external id, shaped like a UUID, so a re-import addresses the same campaign. */
export function importedCampaignId(externalId: string): string {
  const h = createHash('sha256').update(`touchloop-import:${externalId}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * Imports a past campaign (from Pinpoint or another tool): the campaign as completed, its send
 * records (holdout included), `sent` entries and the given interactions on the timelines, and the
 * conversions — everything keyed deterministically, so importing the same history twice changes
 * nothing — after which attribution, lift and scores treat it like any other campaign.
 */
export async function importHistory(
  input: HistoryImport,
  deps: { contacts: ContactStore; timeline: Timeline; scorer: LeadScorer; tables: { campaigns: string; sends: string }; db?: DynamoDBDocumentClient },
): Promise<HistoryImportResult> {
  const db = deps.db ?? documentClient;
  const campaignId = importedCampaignId(input.campaign.externalId);
  const runId = '1';
  const failures: HistoryImportResult['failures'] = [];
  const cache = new Map<string, string | undefined>();
  const resolve = async (ref: z.infer<typeof ContactRef>, path: string, index: number): Promise<string | undefined> => {
    const key = JSON.stringify(ref);
    if (cache.has(key)) return cache.get(key);
    let id: string | undefined;
    try {
      if ('contactId' in ref) id = (await deps.contacts.get(ref.contactId))?.id;
      else if ('email' in ref) id = (await deps.contacts.findByEmail(normalizeEmail(ref.email)))?.id;
      else id = (await deps.contacts.findByPhone(normalizePhone(ref.phone, ref.country).e164))?.id;
      if (!id) failures.push({ index, path, message: 'no such contact (import or create the contacts first)' });
    } catch (error) {
      failures.push({ index, path, message: error instanceof InvalidEmailError || error instanceof InvalidPhoneError ? error.message : 'is not a valid contact reference' });
    }
    cache.set(key, id);
    return id;
  };

  let sent = 0;
  let holdout = 0;
  for (const [index, send] of input.sends.entries()) {
    const contactId = await resolve(send.contact, `sends[${index}].contact`, index);
    if (!contactId) continue;
    const record: SendRecord = {
      pk: sendPk(campaignId, runId),
      sk: contactId,
      sendId: sendIdOf(campaignId, runId, contactId),
      campaignId,
      runId,
      contactId,
      channel: send.channel,
      variant: send.variant,
      status: send.holdout ? 'holdout' : 'sent',
      createdAt: send.sentAt,
      attempts: 0,
      ...(send.holdout ? {} : { sentAt: send.sentAt, cost: input.campaign.costPerMessage[send.channel] ?? 0 }),
    };
    try {
      await db.send(new PutCommand({ TableName: deps.tables.sends, Item: record, ConditionExpression: 'attribute_not_exists(pk)' }));
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    if (send.holdout) {
      holdout++;
      continue;
    }
    sent++;
    await deps.timeline.recordFast({ contactId, id: `import:${record.sendId}:sent`, type: 'sent', channel: send.channel, campaignId, sendId: record.sendId, occurredAt: new Date(send.sentAt).toISOString(), data: { variant: send.variant, imported: true } });
  }

  let interactions = 0;
  for (const [index, interaction] of input.interactions.entries()) {
    const contactId = await resolve(interaction.contact, `interactions[${index}].contact`, index);
    if (!contactId) continue;
    const occurredAt = new Date(interaction.occurredAt).toISOString();
    const sendId = sendIdOf(campaignId, runId, contactId);
    const outcome = await deps.timeline.recordFast({
      contactId,
      id: `import:${sendId}:${interaction.type}:${occurredAt}`,
      type: interaction.type,
      campaignId,
      sendId,
      occurredAt,
      data: { imported: true, ...(interaction.link ? { link: interaction.link } : {}) },
    });
    if (outcome === 'recorded') interactions++;
  }

  let conversions = 0;
  for (const [index, conversion] of input.conversions.entries()) {
    const contactId = await resolve(conversion.contact, `conversions[${index}].contact`, index);
    if (!contactId) continue;
    const result = await recordConversion(
      { contactId, name: conversion.name, value: conversion.value, currency: conversion.currency, occurredAt: conversion.occurredAt, idempotencyKey: conversion.idempotencyKey ?? `import:${campaignId}:${index}` },
      deps,
      'import',
    );
    if (result.recorded) conversions++;
  }

  const campaign: Campaign = {
    id: campaignId,
    name: input.campaign.name,
    segmentId: '00000000-0000-4000-8000-000000000000',
    channels: [...new Set(input.sends.map((s) => s.channel))],
    variants: [...new Set(input.sends.filter((s) => !s.holdout).map((s) => s.variant))].map((name) => ({ name, weight: 1, templates: {} })),
    holdoutPercent: input.sends.length ? Math.round((100 * input.sends.filter((s) => s.holdout).length) / input.sends.length) : 0,
    schedule: { type: 'immediate' },
    limits: { quietHours: {}, sendRatePerSecond: {} },
    goal: input.campaign.goal,
    costPerMessage: input.campaign.costPerMessage,
    marketing: true,
    status: 'completed',
    createdAt: new Date().toISOString(),
    updatedAt: new Date().toISOString(),
    version: 1,
    runId,
    launchedAt: new Date(input.campaign.launchedAt).toISOString(),
    completedAt: new Date(input.campaign.launchedAt).toISOString(),
    counters: { ...emptyCounters(), targeted: sent + holdout, sent, holdout },
    spent: input.sends.filter((s) => !s.holdout).reduce((sum, s) => sum + (input.campaign.costPerMessage[s.channel] ?? 0), 0),
  };
  let created = true;
  try {
    await db.send(new PutCommand({ TableName: deps.tables.campaigns, Item: { ...campaign, imported: true, externalId: input.campaign.externalId }, ConditionExpression: 'attribute_not_exists(id)' }));
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    created = false;
  }
  return { campaignId, created, summary: { sends: sent, holdout, interactions, conversions, failed: failures.length }, failures };
}
