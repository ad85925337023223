import { ConsentChanged, ContactUpdated, LeadCaptured } from '../events/contacts.ts';
import { patternFor } from '../events/contract.ts';
import { SES_EVENTS_PATTERN } from '../events/ses.ts';
import { Sources } from '../events/sources.ts';
import { defineTopology } from './topology-types.ts';

const contactTables = { contacts: 'readWrite', contactLookups: 'readWrite', consents: 'readWrite', suppressions: 'readWrite', interactions: 'readWrite' } as const;

/**
 * Touchloop's topology: the single declaration that the CDK stack and the local runtime both
 * read. Add a function, route, queue, rule, schedule or table here and both engines wire it.
 */
export const topology = defineTopology({
  tables: {
    contacts: {
      description: 'One item per person (attributes, consent state per channel, scores). Get by id; audience scans read it in parallel segments.',
      partitionKey: { name: 'id', type: 'S' },
    },
    contactLookups: {
      description:
        'Uniqueness items: key "email#<normalised email>" or "phone#<E.164>" → contactId. Written in the same transaction as the contact, conditioned on not existing, so two contacts never hold one address.',
      partitionKey: { name: 'key', type: 'S' },
    },
    consents: {
      description:
        'Append-only consent records: partition contactId, sort key "<at>#<channel>#<id>" (chronological). What was agreed, when, where (form, wording version and hash), from which IP and user agent, and the double-opt-in state.',
      partitionKey: { name: 'contactId', type: 'S' },
      sortKey: { name: 'sk', type: 'S' },
    },
    suppressions: {
      description:
        'Suppression list: key "<channel>#<keyed hash of the address>" → one attribute per reason (unsubscribed, bounced, erased…). Holds no address in clear, so it outlives erasure.',
      partitionKey: { name: 'key', type: 'S' },
    },
    interactions: {
      description:
        'Contact timeline: partition contactId, sort key "<occurredAt>#<event id>" (newest first with ScanIndexForward=false). Conditional puts make every source event record once. Sparse index byTypeDay (typeDay = "converted#YYYY-MM-DD", occurredAt) finds a day\u2019s conversions for the attribution run.',
      partitionKey: { name: 'contactId', type: 'S' },
      sortKey: { name: 'sk', type: 'S' },
      indexes: [{ name: 'byTypeDay', partitionKey: { name: 'typeDay', type: 'S' }, sortKey: { name: 'occurredAt', type: 'S' } }],
    },
    forms: {
      description: 'Web form definitions by id (fields, consent wording, allowed origins, double opt-in, rate limits).',
      partitionKey: { name: 'id', type: 'S' },
    },
    segments: {
      description: 'Segment definitions, versioned: partition id, sort key version (1, 2, …; a deletion is a tombstone version). Campaigns keep the version they launched with.',
      partitionKey: { name: 'id', type: 'S' },
      sortKey: { name: 'version', type: 'N' },
    },
    segmentStats: {
      description: 'Segment-level statistics by segment id (size, reachability, response and conversion rates, revenue per member, mean propensity), with the time they were computed.',
      partitionKey: { name: 'segmentId', type: 'S' },
    },
    campaigns: {
      description: 'Campaigns by id (definition, status, run, counters, launch forecast); index bySegment (segmentId, status) answers "which scheduled or running campaigns use this segment?".',
      partitionKey: { name: 'id', type: 'S' },
      indexes: [{ name: 'bySegment', partitionKey: { name: 'segmentId', type: 'S' }, sortKey: { name: 'status', type: 'S' } }],
    },
    templates: {
      description: 'Message templates by id (immutable: a campaign renders exactly what it launched with).',
      partitionKey: { name: 'id', type: 'S' },
    },
    sends: {
      description:
        'Send records: partition "<campaignId>#<runId>", sort key contactId (the launch\u2019s idempotency key: one message per contact per run). Status holdout/queued/deferred/sending/sent/failed/skipped/paused/cancelled. Sparse index byDue (dueShard, dueAt) holds deferred sends for the dispatcher.',
      partitionKey: { name: 'pk', type: 'S' },
      sortKey: { name: 'sk', type: 'S' },
      indexes: [{ name: 'byDue', partitionKey: { name: 'dueShard', type: 'S' }, sortKey: { name: 'dueAt', type: 'S' } }],
    },
    rateLimits: {
      description: 'Fixed-window request counters ("<scope>#<window>" → hits), expiring by TTL: limits that hold across Lambda instances.',
      partitionKey: { name: 'key', type: 'S' },
      timeToLiveAttribute: 'expiresAt',
    },
    idempotency: {
      description: 'Markers of work done once per source event (lead points awarded, confirmation email sent), expiring by TTL.',
      partitionKey: { name: 'key', type: 'S' },
      timeToLiveAttribute: 'expiresAt',
    },
  },

  queues: {
    interactions: { description: 'Domain events that become entries on contacts\u2019 timelines.', maxReceiveCount: 5 },
    leadScoring: { description: 'Behaviour that earns lead points.', maxReceiveCount: 5 },
    confirmations: { description: 'Leads whose email consent waits for a double-opt-in confirmation email.', maxReceiveCount: 5 },
    launches: { description: 'Campaign runs to start (from schedules and immediate launches) and resumes.', maxReceiveCount: 5 },
    audienceScan: { description: 'One parallel-scan segment of a campaign run\u2019s audience per message (continuations re-enqueue themselves).', maxReceiveCount: 5 },
    emailSends: { description: 'Email sends, up to 50 recipients per message.', maxReceiveCount: 8 },
    smsSends: { description: 'SMS sends, up to 50 recipients per message.', maxReceiveCount: 8 },
    smsInbound: {
      description: 'Inbound SMS (End User Messaging SMS two-way via SNS, or Twilio via its webhook) on their way to keyword handling.',
      maxReceiveCount: 5,
      snsTopic: 'sms-inbound',
    },
    providerEvents: { description: 'Delivery events from providers (SES sending events) on their way to the timelines.', maxReceiveCount: 5 },
  },

  functions: {
    'contacts-api': {
      description: 'Marketer contacts API: upsert, lookup, patch, erasure, export, timeline, import, suppressions.',
      entry: 'functions/contacts-api/handler.ts',
      handler: 'handler',
      timeoutSeconds: 29,
      memoryMb: 1024,
      http: [
        { method: 'POST', path: '/v1/contacts' },
        { method: 'GET', path: '/v1/contacts' },
        { method: 'GET', path: '/v1/contacts/{id}' },
        { method: 'PATCH', path: '/v1/contacts/{id}' },
        { method: 'DELETE', path: '/v1/contacts/{id}' },
        { method: 'GET', path: '/v1/contacts/{id}/export' },
        { method: 'GET', path: '/v1/contacts/{id}/timeline' },
        { method: 'POST', path: '/v1/contacts/import' },
        { method: 'POST', path: '/v1/suppressions' },
      ],
      tables: contactTables,
      publishesEvents: true,
      usesSecret: true,
    },
    'forms-api': {
      description: 'Marketer forms API: define and read web forms.',
      entry: 'functions/forms-api/handler.ts',
      handler: 'handler',
      timeoutSeconds: 10,
      http: [
        { method: 'POST', path: '/v1/forms' },
        { method: 'GET', path: '/v1/forms' },
        { method: 'GET', path: '/v1/forms/{id}' },
      ],
      tables: { forms: 'readWrite' },
      linksToPublicApi: true,
    },
    'forms-public': {
      description: 'Public form endpoints: embed HTML, CORS preflight, submissions, double-opt-in confirmation.',
      entry: 'functions/forms-public/handler.ts',
      handler: 'handler',
      timeoutSeconds: 10,
      http: [
        { method: 'GET', path: '/f/{formId}/embed', public: true },
        { method: 'OPTIONS', path: '/f/{formId}', public: true },
        { method: 'POST', path: '/f/{formId}', public: true },
        { method: 'GET', path: '/f/confirm/{token}', public: true },
      ],
      tables: { ...contactTables, forms: 'read', rateLimits: 'readWrite' },
      publishesEvents: true,
      usesSecret: true,
      linksToPublicApi: true,
      verifiesCaptcha: true,
    },
    'segments-api': {
      description: 'Marketer segments API: versioned rule definitions, previews with forecasts, segment statistics.',
      entry: 'functions/segments-api/handler.ts',
      handler: 'handler',
      timeoutSeconds: 29,
      memoryMb: 1769,
      http: [
        { method: 'POST', path: '/v1/segments' },
        { method: 'GET', path: '/v1/segments' },
        { method: 'GET', path: '/v1/segments/{id}' },
        { method: 'PUT', path: '/v1/segments/{id}' },
        { method: 'DELETE', path: '/v1/segments/{id}' },
        { method: 'POST', path: '/v1/segments/{id}/preview' },
        { method: 'POST', path: '/v1/segments/preview' },
      ],
      tables: { segments: 'readWrite', segmentStats: 'readWrite', contacts: 'read', campaigns: 'read' },
    },
    'templates-api': {
      description: 'Marketer templates API: email and SMS templates, render previews against a contact.',
      entry: 'functions/templates-api/handler.ts',
      handler: 'handler',
      timeoutSeconds: 10,
      http: [
        { method: 'POST', path: '/v1/templates' },
        { method: 'GET', path: '/v1/templates' },
        { method: 'GET', path: '/v1/templates/{id}' },
        { method: 'POST', path: '/v1/templates/{id}/render' },
      ],
      tables: { templates: 'readWrite', contacts: 'read', contactLookups: 'read', consents: 'read' },
      usesSecret: true,
      linksToPublicApi: true,
    },
    'campaigns-api': {
      description: 'Marketer campaigns API: define, launch (schedule), pause, resume, cancel; live counters and launch forecast.',
      entry: 'functions/campaigns-api/handler.ts',
      handler: 'handler',
      timeoutSeconds: 15,
      http: [
        { method: 'POST', path: '/v1/campaigns' },
        { method: 'GET', path: '/v1/campaigns' },
        { method: 'GET', path: '/v1/campaigns/{id}' },
        { method: 'PUT', path: '/v1/campaigns/{id}' },
        { method: 'POST', path: '/v1/campaigns/{id}/launch' },
        { method: 'POST', path: '/v1/campaigns/{id}/pause' },
        { method: 'POST', path: '/v1/campaigns/{id}/resume' },
        { method: 'POST', path: '/v1/campaigns/{id}/cancel' },
      ],
      tables: { campaigns: 'readWrite', segments: 'read', segmentStats: 'read', templates: 'read', sends: 'read' },
      sendsTo: ['launches'],
      managesSchedules: { targetQueue: 'launches' },
    },
    'campaign-launcher': {
      description: 'Starts a campaign run: fixes the segment version and fans the audience scan out over parallel segments; re-queues sends after a resume.',
      entry: 'functions/campaign-launcher/handler.ts',
      handler: 'handler',
      timeoutSeconds: 60,
      queue: { queue: 'launches', batchSize: 1, maxConcurrency: 2 },
      tables: { campaigns: 'readWrite', segments: 'read', segmentStats: 'read', sends: 'readWrite', contacts: 'read' },
      sendsTo: ['audienceScan', 'emailSends', 'smsSends'],
      environment: { AUDIENCE_SCAN_SEGMENTS: '8' },
    },
    'audience-worker': {
      description: 'Plans one scan segment of a campaign audience: eligibility, holdout, variant, channel, timing; writes send records and enqueues sends.',
      entry: 'functions/audience-worker/handler.ts',
      handler: 'handler',
      timeoutSeconds: 900,
      memoryMb: 1769,
      queue: { queue: 'audienceScan', batchSize: 1, maxConcurrency: 8 },
      tables: { campaigns: 'readWrite', segments: 'read', segmentStats: 'read', sends: 'readWrite', contacts: 'read' },
      sendsTo: ['audienceScan', 'emailSends', 'smsSends'],
    },
    'email-sender': {
      description: 'Sends campaign email through SES, paced, exactly once in effect.',
      entry: 'functions/email-sender/handler.ts',
      handler: 'handler',
      timeoutSeconds: 60,
      queue: { queue: 'emailSends', batchSize: 2, maxConcurrency: 5 },
      tables: { ...contactTables, campaigns: 'readWrite', sends: 'readWrite', templates: 'read' },
      publishesEvents: true,
      usesSecret: true,
      sendsEmail: true,
      linksToPublicApi: true,
      environment: { SEND_CONCURRENCY: '5' },
    },
    'sms-sender': {
      description: 'Sends campaign SMS through End User Messaging SMS or Twilio, paced, exactly once in effect.',
      entry: 'functions/sms-sender/handler.ts',
      handler: 'handler',
      timeoutSeconds: 60,
      queue: { queue: 'smsSends', batchSize: 2, maxConcurrency: 2 },
      tables: { ...contactTables, campaigns: 'readWrite', sends: 'readWrite', templates: 'read' },
      publishesEvents: true,
      usesSecret: true,
      sendsSms: true,
      linksToPublicApi: true,
      environment: { SEND_CONCURRENCY: '2' },
    },
    'send-dispatcher': {
      description: 'Every minute, moves deferred sends that are due onto the channel queues.',
      entry: 'functions/send-dispatcher/handler.ts',
      handler: 'handler',
      timeoutSeconds: 60,
      schedules: [{ name: 'dispatch-deferred-sends', expression: 'rate(1 minute)', description: 'Deferred sends (quiet hours, local-time schedules) that are due go out.' }],
      tables: { campaigns: 'readWrite', sends: 'readWrite', segments: 'read', segmentStats: 'read', contacts: 'read' },
      sendsTo: ['audienceScan', 'emailSends', 'smsSends'],
    },
    unsubscribe: {
      description: 'Public unsubscribe links: a confirmation page on GET, RFC 8058 one-click unsubscribe on POST.',
      entry: 'functions/unsubscribe/handler.ts',
      handler: 'handler',
      timeoutSeconds: 10,
      http: [
        { method: 'GET', path: '/u/{token}', public: true },
        { method: 'POST', path: '/u/{token}', public: true },
      ],
      tables: contactTables,
      publishesEvents: true,
      usesSecret: true,
    },
    'events-api': {
      description: 'Marketer/back-office API for conversions: POST /v1/events, once per idempotency key.',
      entry: 'functions/events-api/handler.ts',
      handler: 'handler',
      timeoutSeconds: 10,
      http: [{ method: 'POST', path: '/v1/events' }],
      tables: { ...contactTables, idempotency: 'write' },
      publishesEvents: true,
      usesSecret: true,
    },
    tracking: {
      description: 'Public click redirects and the open pixel of tracked email, recorded on the timeline.',
      entry: 'functions/tracking/handler.ts',
      handler: 'handler',
      timeoutSeconds: 10,
      http: [
        { method: 'GET', path: '/t/c/{token}', public: true },
        { method: 'GET', path: '/t/o/{token}', public: true },
      ],
      tables: { ...contactTables, idempotency: 'write' },
      publishesEvents: true,
      usesSecret: true,
    },
    'sms-inbound': {
      description: 'Handles inbound SMS: STOP and synonyms opt out (one confirmation), HELP, START/UNSTOP; records replies.',
      entry: 'functions/sms-inbound/handler.ts',
      handler: 'handler',
      timeoutSeconds: 30,
      queue: { queue: 'smsInbound', batchSize: 10, maxConcurrency: 2 },
      tables: { ...contactTables, idempotency: 'readWrite' },
      publishesEvents: true,
      usesSecret: true,
      sendsSms: true,
    },
    'response-recorder': {
      description: 'Records SES sending events on contacts\u2019 timelines; bounces and complaints suppress; clicks earn lead points.',
      entry: 'functions/response-recorder/handler.ts',
      handler: 'handler',
      timeoutSeconds: 60,
      queue: { queue: 'providerEvents', batchSize: 25, maxBatchingWindowSeconds: 2, maxConcurrency: 5 },
      tables: { ...contactTables, campaigns: 'readWrite', idempotency: 'write' },
      publishesEvents: true,
      usesSecret: true,
    },
    'interaction-recorder': {
      description: 'Writes domain events onto contacts\u2019 timelines, once each.',
      entry: 'functions/interaction-recorder/handler.ts',
      handler: 'handler',
      timeoutSeconds: 30,
      queue: { queue: 'interactions', batchSize: 25, maxBatchingWindowSeconds: 1, maxConcurrency: 5 },
      tables: { interactions: 'write', contacts: 'readWrite' },
    },
    'lead-scorer': {
      description: 'Adds lead points for behaviour, once per event.',
      entry: 'functions/lead-scorer/handler.ts',
      handler: 'handler',
      timeoutSeconds: 30,
      queue: { queue: 'leadScoring', batchSize: 25, maxBatchingWindowSeconds: 1, maxConcurrency: 5 },
      tables: { contacts: 'readWrite', idempotency: 'write' },
    },
    'confirmation-mailer': {
      description: 'Sends double-opt-in confirmation emails through SES.',
      entry: 'functions/confirmation-mailer/handler.ts',
      handler: 'handler',
      timeoutSeconds: 30,
      queue: { queue: 'confirmations', batchSize: 10, maxConcurrency: 2 },
      tables: { contacts: 'read', contactLookups: 'read', consents: 'read', forms: 'read', idempotency: 'readWrite' },
      usesSecret: true,
      sendsEmail: true,
      linksToPublicApi: true,
    },
  },

  rules: {
    'contact-activity-to-timeline': {
      description: 'Contact changes, form submissions and consent changes are recorded on the timeline.',
      pattern: patternFor(ContactUpdated, LeadCaptured, ConsentChanged),
      target: { queue: 'interactions' },
    },
    'lead-scoring': {
      description: 'Form submissions and confirmed consent earn lead points.',
      pattern: {
        source: [Sources.contacts],
        $or: [{ 'detail-type': [LeadCaptured.detailType] }, { 'detail-type': [ConsentChanged.detailType], detail: { to: ['confirmed'] } }],
      },
      target: { queue: 'leadScoring' },
    },
    'ses-events': {
      description: 'Amazon SES sending events (configuration set → default bus) are recorded on the timelines.',
      bus: 'default',
      pattern: SES_EVENTS_PATTERN,
      target: { queue: 'providerEvents' },
    },
    'double-opt-in-mail': {
      description: 'Leads that must confirm their email consent get the confirmation email.',
      pattern: { ...patternFor(LeadCaptured), detail: { confirmationNeeded: [true] } },
      target: { queue: 'confirmations' },
    },
  },
});

export type TouchloopTopology = typeof topology;
