import { createHash } from 'node:crypto';
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import * as z from 'zod';
import { documentClient } from '../aws/dynamodb.ts';
import { PastInstant } from '../clock.ts';
import type { ContactStore } from '../contacts/contact-store.ts';
import { InvalidEmailError, normalizeEmail } from '../contacts/email.ts';
import type { LeadScorer } from '../contacts/lead-scoring.ts';
import { InvalidPhoneError, normalizePhone } from '../contacts/phone.ts';
import type { Timeline } from '../contacts/timeline.ts';
import type { ValidationIssue } from '../errors.ts';
import { isStorableNumber, NUMBER_RANGE } from '../numbers.ts';
import { recordConversion } from '../responses/conversions.ts';
import { CampaignGoal, emptyCounters, type Campaign } from '../campaigns/model.ts';
import { sendIdOf, sendPk, type SendRecord } from '../campaigns/send-store.ts';

const ContactRef = z.union([
  z.strictObject({ contactId: z.uuid('must be a contact id') }),
  z.strictObject({ email: z.string().max(320) }),
  z.strictObject({ phone: z.string().max(40), country: z.string().length(2).optional() }),
]);
/** History is in the past: a send, interaction or conversion dated ahead of the clock refuses the whole import. */
const Instant = PastInstant;

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

  // The campaign exists before its sends (a later request of the same history adds to it).
  const created = await createImportedCampaign(input, campaignId, runId, db, deps.tables.campaigns);

  let sent = 0;
  let holdout = 0;
  let spent = 0;
  const variants = new Set<string>();
  const channels = new Set<string>();
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
    let fresh = true;
    try {
      await db.send(new PutCommand({ TableName: deps.tables.sends, Item: record, ConditionExpression: 'attribute_not_exists(pk)' }));
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      fresh = false; // imported by an earlier request: counted then
    }
    if (send.holdout) {
      if (fresh) holdout++;
      continue;
    }
    if (fresh) {
      sent++;
      spent += record.cost ?? 0;
      variants.add(send.variant);
      channels.add(send.channel);
    }
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

  await addImportedSends(campaignId, { sent, holdout, spent, variants, channels }, db, deps.tables.campaigns);
  return { campaignId, created, summary: { sends: sent, holdout, interactions, conversions, failed: failures.length }, failures };
}

/** The imported campaign, created by the first request of its history (as completed, with nothing counted yet); false when it exists. */
async function createImportedCampaign(input: HistoryImport, campaignId: string, runId: string, db: DynamoDBDocumentClient, table: string): Promise<boolean> {
  const now = new Date().toISOString();
  const launchedAt = new Date(input.campaign.launchedAt).toISOString();
  const campaign: Campaign = {
    id: campaignId,
    name: input.campaign.name,
    segmentId: '00000000-0000-4000-8000-000000000000',
    channels: [],
    variants: [],
    holdoutPercent: 0,
    schedule: { type: 'immediate' },
    limits: { quietHours: {}, sendRatePerSecond: {} },
    goal: input.campaign.goal,
    costPerMessage: input.campaign.costPerMessage,
    marketing: true,
    status: 'completed',
    createdAt: now,
    updatedAt: now,
    version: 1,
    runId,
    launchedAt,
    completedAt: launchedAt,
    counters: emptyCounters(),
    spent: 0,
  };
  try {
    await db.send(new PutCommand({ TableName: table, Item: { ...campaign, imported: true, externalId: input.campaign.externalId }, ConditionExpression: 'attribute_not_exists(id)' }));
    return true;
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    return false;
  }
}

/**
 * Adds one request's new sends to the imported campaign: counters and spend with atomic ADDs (so
 * requests in any order and at once sum up), then the variants, channels and holdout share derived
 * from the totals — written only if the totals are still the ones derived from (a request that
 * raced ahead writes its own, later totals; this one re-reads and derives again).
 */
async function addImportedSends(
  campaignId: string,
  added: { sent: number; holdout: number; spent: number; variants: Set<string>; channels: Set<string> },
  db: DynamoDBDocumentClient,
  table: string,
): Promise<void> {
  type Totals = { counters: { targeted: number; sent: number; holdout: number }; importVariants?: Set<string>; importChannels?: Set<string> };
  let totals: Totals | undefined;
  if (added.sent + added.holdout > 0) {
    const adds = ['counters.targeted :targeted', 'counters.sent :sent', 'counters.holdout :holdout', 'spent :spent', ...(added.variants.size ? ['importVariants :variants'] : []), ...(added.channels.size ? ['importChannels :channels'] : [])];
    const result = await db.send(
      new UpdateCommand({
        TableName: table,
        Key: { id: campaignId },
        UpdateExpression: `ADD ${adds.join(', ')}`,
        ExpressionAttributeValues: {
          ':targeted': added.sent + added.holdout,
          ':sent': added.sent,
          ':holdout': added.holdout,
          ':spent': added.spent,
          ...(added.variants.size ? { ':variants': added.variants } : {}),
          ...(added.channels.size ? { ':channels': added.channels } : {}),
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
    totals = result.Attributes as Totals;
  }
  for (let attempt = 0; attempt < 10; attempt++) {
    totals ??= (await db.send(new GetCommand({ TableName: table, Key: { id: campaignId }, ConsistentRead: true }))).Item as Totals | undefined;
    if (!totals) return;
    const variants = [...(totals.importVariants ?? [])].sort().map((name) => ({ name, weight: 1, templates: {} }));
    const channels = [...(totals.importChannels ?? [])].sort();
    const targeted = totals.counters.targeted;
    try {
      await db.send(
        new UpdateCommand({
          TableName: table,
          Key: { id: campaignId },
          UpdateExpression: 'SET variants = :variants, channels = :channels, holdoutPercent = :share',
          ConditionExpression: 'counters.targeted = :targeted',
          ExpressionAttributeValues: { ':variants': variants, ':channels': channels, ':share': targeted ? Math.round((1000 * totals.counters.holdout) / targeted) / 10 : 0, ':targeted': targeted },
        }),
      );
      return;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      totals = undefined; // another request added sends since: derive from the newer totals
    }
  }
}
