import { ConsentChanged, ContactUpdated, LeadCaptured } from '../events/contacts.ts';
import { patternFor } from '../events/contract.ts';
import { SES_EVENTS_PATTERN } from '../events/ses.ts';
import { SMS_EVENTS_PATTERN } from '../events/sms.ts';
import { Sources } from '../events/sources.ts';
import { defineTopology, type Topology } from './topology-types.ts';

const contactTables = { contacts: 'readWrite', contactLookups: 'readWrite', consents: 'readWrite', suppressions: 'readWrite', interactions: 'readWrite', activity: 'readWrite' } as const;

/**
 * Touchloop's topology: the single declaration that the CDK stack and the local runtime both
 * read. Add a function, route, queue, rule, schedule or table here and both engines wire it.
 */
const declared = defineTopology({
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
        'Contact timeline: partition contactId, sort key "<occurredAt>#<event id>" (newest first with ScanIndexForward=false). Conditional puts make every source event record once. Sparse index byTypeDay (typeDay = "converted#YYYY-MM-DD", occurredAt) finds a day\u2019s conversions for the attribution run; sparse index byForm (formId, occurredAt), written on form_submitted entries only, lists a form\u2019s submissions newest first.',
      partitionKey: { name: 'contactId', type: 'S' },
      sortKey: { name: 'sk', type: 'S' },
      indexes: [
        { name: 'byTypeDay', partitionKey: { name: 'typeDay', type: 'S' }, sortKey: { name: 'occurredAt', type: 'S' } },
        // Keys only: the list reads the entries themselves (consistently, so an applied submission shows as applied), and applying one does not rewrite the index.
        { name: 'byForm', partitionKey: { name: 'formId', type: 'S' }, sortKey: { name: 'occurredAt', type: 'S' }, projection: 'KEYS_ONLY' },
      ],
    },
    activity: {
      description:
        'Behaviour counters, one item per contact and UTC month: partition contactId, sort key "YYYY-MM", one number attribute per "<type>|<channel or c:campaign>|<hour>". A bump rewrites only this small item; the contact lists its months (activityMonths) so readers fetch exactly those. Expires 401 days after the month ends.',
      partitionKey: { name: 'contactId', type: 'S' },
      sortKey: { name: 'month', type: 'S' },
      timeToLiveAttribute: 'expiresAt',
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
    attribution: {
      description: 'Credit per campaign, day and variant: partition campaignId, sort key "day#<YYYY-MM-DD>#<variant>" (a run replaces its range).',
      partitionKey: { name: 'campaignId', type: 'S' },
      sortKey: { name: 'sk', type: 'S' },
    },
    attributionRuns: {
      description: 'Attribution runs by id: range, status, scan segments done.',
      partitionKey: { name: 'runId', type: 'S' },
    },
    attributionParts: {
      description: 'Partial results of a run\u2019s scan segments (partition runId), merged when the last segment finishes.',
      partitionKey: { name: 'runId', type: 'S' },
      sortKey: { name: 'partId', type: 'S' },
    },
    reports: {
      description: 'The latest report per campaign: funnel, attributed revenue, cost, ROI, lift over the holdout with intervals, variants, forecast vs actual.',
      partitionKey: { name: 'campaignId', type: 'S' },
    },
    sites: {
      description: 'Web properties allowed to report conversions publicly (POST /e/{siteKey}): the public site key, allowed origins, rate limits.',
      partitionKey: { name: 'id', type: 'S' },
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
    imports: {
      description:
        'Import jobs: partition jobId, sort key "job" (kind, status, totals added once per chunk) or "chunk#<n>" (the chunk’s byte range or object, done or not). Sparse index recent (listKey, createdAt) lists jobs newest first. Expires 90 days after creation.',
      partitionKey: { name: 'jobId', type: 'S' },
      sortKey: { name: 'sk', type: 'S' },
      indexes: [{ name: 'recent', partitionKey: { name: 'listKey', type: 'S' }, sortKey: { name: 'createdAt', type: 'S' } }],
      timeToLiveAttribute: 'expiresAt',
    },
    models: {
      description:
        'Learned models (docs/learning-design.md): partition modelId ("propensity.<goal>", "uplift.<goal>", "btyd", "forecasts"), sort key "head" (status, reason, active and latest version, data hash, headline metrics), "v#<000001>" (an immutable version: weights, feature spec, metrics, calibration, Qini, explanations) or, under "forecasts", "fva#<launchedAt>#<campaignId>" (a campaign\u2019s forecast against its actual).',
      partitionKey: { name: 'modelId', type: 'S' },
      sortKey: { name: 'sk', type: 'S' },
    },
    journeys: {
      description:
        'Journeys, versioned: partition id, sort key "journey" (name, status, current version, entry, counters of segment checks), "v#<000001>" (an immutable definition version: contacts in flight stay on the version they entered with), "stats#<0..7>" (step counters, sharded by contact so a popular step is not one hot item) and "report" (the goal lift the nightly run measured). Sparse index byStatus (status, id) lists running journeys for the event and segment checks.',
      partitionKey: { name: 'id', type: 'S' },
      sortKey: { name: 'sk', type: 'S' },
      indexes: [{ name: 'byStatus', partitionKey: { name: 'status', type: 'S' }, sortKey: { name: 'id', type: 'S' } }],
    },
    journeyStates: {
      description:
        'Where each contact is in each journey: partition contactId, sort key "<journeyId>#ledger" (entries so far, last entry, the active one: the entry rules’ state) or "<journeyId>#e<000001>" (one entry: version, step, sequence number, status, due time, responses, goal outcome). Every step is a conditional write on the sequence number, so it happens once. Sparse index byDue (dueShard, dueAt) holds the waits the dispatcher wakes; byJourney (journeyEntry, enteredAt) lists a journey’s entries for the nightly measurement, resume and stop.',
      partitionKey: { name: 'contactId', type: 'S' },
      sortKey: { name: 'sk', type: 'S' },
      indexes: [
        // Keys only: a step rewrites its entry, and an index holding the whole item would be rewritten with it (a write unit per step each).
        { name: 'byDue', partitionKey: { name: 'dueShard', type: 'S' }, sortKey: { name: 'dueAt', type: 'S' }, projection: 'KEYS_ONLY' },
        { name: 'byJourney', partitionKey: { name: 'journeyEntry', type: 'S' }, sortKey: { name: 'enteredAt', type: 'S' }, projection: 'KEYS_ONLY' },
      ],
    },
  },

  buckets: {
    imports: {
      description: 'Import files uploaded through presigned URLs (uploads/<jobId>), regrouped chunks and per-row error files of import jobs.',
      expireAfterDays: 7,
      notify: { prefix: 'uploads/', queue: 'importUploads' },
    },
    learning: {
      description: 'Training examples of the nightly run: per scan page, learning/<runId>/<part>.bin (sampled, encoded exposures) and .json (BTYD counts, buyers, token counts), read by the learning worker.',
      expireAfterDays: 3,
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
    attributionScan: { description: 'One parallel-scan segment of the interactions table per attribution run message.', maxReceiveCount: 3 },
    learning: { description: 'A learning run\u2019s work: train one goal\u2019s models, fit the BTYD models, or score one parallel-scan segment of the contacts table (continuations re-enqueue themselves).', maxReceiveCount: 3 },
    importUploads: { description: 'S3 notifications of import files arriving in the imports bucket (each starts or resumes splitting its job), and bodies of synchronous imports handed over to a job.', maxReceiveCount: 5 },
    importChunks: { description: 'One chunk of an import job per message, imported by the workers in parallel.', maxReceiveCount: 5 },
    journeyTasks: {
      description: 'Journey work: entries and wake-ups of contacts (due waits from the dispatcher, events from the timeline), audience scans of segment-triggered journeys, resume, stop and the nightly measurement.',
      maxReceiveCount: 5,
    },
    providerEvents: { description: 'Delivery events from providers (SES sending events) on their way to the timelines.', maxReceiveCount: 5 },
  },

  functions: {
    'contacts-api': {
      description: 'Marketer contacts API: upsert, lookup, patch, erasure, export, timeline, consent evidence, import, suppressions.',
      // 1 KB over the default 900 with the consent evidence route; libphonenumber-js's full metadata (about 200 KB of it) is where to cut.
      bundleBudgetKb: 905,
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
        { method: 'GET', path: '/v1/contacts/{id}/consents' },
        { method: 'POST', path: '/v1/contacts/{id}/submissions/{submissionId}/apply' },
        { method: 'POST', path: '/v1/contacts/import' },
        { method: 'POST', path: '/v1/suppressions' },
      ],
      // journeyStates, journeys: erasure ends the person's journeys (counted as exits) and moves their entries to the pseudonym.
      tables: { ...contactTables, campaigns: 'read', sends: 'readWrite', imports: 'readWrite', journeyStates: 'readWrite', journeys: 'write' },
      sendsTo: ['importUploads'],
      publishesEvents: true,
      usesSecret: true,
      linksToPublicApi: true,
    },
    'forms-api': {
      description: 'Marketer forms API: define and read web forms, list their submissions.',
      entry: 'functions/forms-api/handler.ts',
      handler: 'handler',
      timeoutSeconds: 10,
      http: [
        { method: 'POST', path: '/v1/forms' },
        { method: 'GET', path: '/v1/forms' },
        { method: 'GET', path: '/v1/forms/{id}' },
        { method: 'GET', path: '/v1/forms/{id}/submissions' },
      ],
      // interactions: a form's submissions are form_submitted entries on the contacts' timelines (index byForm).
      tables: { forms: 'readWrite', interactions: 'read' },
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
      description: 'Marketer segments API: versioned rule definitions, previews with forecasts (a goal\u2019s from the learned propensity scores), segment statistics, warnings for learned scores whose model is not active.',
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
      tables: { segments: 'readWrite', segmentStats: 'readWrite', contacts: 'read', activity: 'read', campaigns: 'read', models: 'read' },
    },
    'templates-api': {
      description: 'Marketer templates API: email and SMS templates, render previews of saved and unsaved templates against a contact or sample data.',
      entry: 'functions/templates-api/handler.ts',
      handler: 'handler',
      timeoutSeconds: 10,
      http: [
        { method: 'POST', path: '/v1/templates' },
        { method: 'GET', path: '/v1/templates' },
        { method: 'GET', path: '/v1/templates/{id}' },
        { method: 'POST', path: '/v1/templates/{id}/render' },
        { method: 'POST', path: '/v1/templates/render' },
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
      // models: a launch with uplift targeting checks that its uplift model is active.
      tables: { campaigns: 'readWrite', segments: 'read', segmentStats: 'read', templates: 'read', sends: 'read', models: 'read' },
      sendsTo: ['launches'],
      managesSchedules: { targetQueue: 'launches' },
    },
    'messages-api': {
      description: 'Transactional messages: one templated email or SMS to a contact or an address, now, once per idempotency key; their status.',
      entry: 'functions/messages-api/handler.ts',
      handler: 'handler',
      // One provider call per request, inline: well inside API Gateway's 29 s (see shared/messages/transactional.ts).
      timeoutSeconds: 15,
      http: [
        { method: 'POST', path: '/v1/messages' },
        { method: 'GET', path: '/v1/messages/{id}' },
      ],
      // Reads the recipient and its suppressions; writes the message's send record, its timeline entry (and counter), and a provider opt-out's suppression.
      tables: { contacts: 'readWrite', contactLookups: 'read', consents: 'read', suppressions: 'readWrite', interactions: 'write', activity: 'write', templates: 'read', sends: 'readWrite' },
      publishesEvents: true,
      usesSecret: true,
      sendsEmail: true,
      sendsSms: true,
      linksToPublicApi: true,
    },
    'campaign-launcher': {
      description: 'Starts a campaign run: fixes the segment version and fans the audience scan out over parallel segments; re-queues sends after a resume.',
      entry: 'functions/campaign-launcher/handler.ts',
      handler: 'handler',
      timeoutSeconds: 60,
      queue: { queue: 'launches', batchSize: 1, maxConcurrency: 2 },
      // models: the run pins the goal's model versions (forecast, 'best' channel, uplift targeting) and the audience workers score with them.
      tables: { campaigns: 'readWrite', segments: 'read', segmentStats: 'read', sends: 'readWrite', contacts: 'read', activity: 'read', models: 'read' },
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
      // models: the run pins the goal's model versions (forecast, 'best' channel, uplift targeting) and the audience workers score with them.
      tables: { campaigns: 'readWrite', segments: 'read', segmentStats: 'read', sends: 'readWrite', contacts: 'read', activity: 'read', models: 'read' },
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
    'journeys-api': {
      description: 'Marketer journeys API: versioned definitions validated as a graph, start, pause, resume, stop; the report (JSON and an HTML page with the steps drawn as a flow).',
      entry: 'functions/journeys-api/handler.ts',
      handler: 'handler',
      timeoutSeconds: 15,
      http: [
        { method: 'POST', path: '/v1/journeys' },
        { method: 'GET', path: '/v1/journeys' },
        { method: 'GET', path: '/v1/journeys/{id}' },
        { method: 'PUT', path: '/v1/journeys/{id}' },
        { method: 'GET', path: '/v1/journeys/{id}/versions/{version}' },
        { method: 'POST', path: '/v1/journeys/{id}/start' },
        { method: 'POST', path: '/v1/journeys/{id}/pause' },
        { method: 'POST', path: '/v1/journeys/{id}/resume' },
        { method: 'POST', path: '/v1/journeys/{id}/stop' },
        { method: 'GET', path: '/v1/journeys/{id}/report' },
        { method: 'GET', path: '/v1/journeys/{id}/report.html' },
        { method: 'GET', path: '/v1/contacts/{id}/journeys' },
      ],
      // campaigns: each send step is a campaign the journey owns (the same sender, caps, tracking and reports).
      // models: starting a journey with uplift targeting checks that its uplift model is active.
      tables: { journeys: 'readWrite', journeyStates: 'read', campaigns: 'readWrite', segments: 'read', templates: 'read', models: 'read' },
      sendsTo: ['journeyTasks'],
      managesSchedules: { targetQueue: 'journeyTasks' },
    },
    'journey-worker': {
      description: 'Moves contacts through journeys: entries (rules, holdout), steps once each behind a conditional write, sends through the campaign pipeline, waits, splits, updates, exits; audience scans; resume and stop sweeps; the nightly goal measurement.',
      entry: 'functions/journey-worker/handler.ts',
      handler: 'handler',
      timeoutSeconds: 120,
      memoryMb: 1024,
      queue: { queue: 'journeyTasks', batchSize: 10, maxConcurrency: 5 },
      // models: uplift targeting scores a contact at entry.
      tables: { ...contactTables, journeys: 'readWrite', journeyStates: 'readWrite', campaigns: 'readWrite', sends: 'readWrite', segments: 'read', segmentStats: 'read', models: 'read' },
      sendsTo: ['emailSends', 'smsSends', 'journeyTasks'],
      publishesEvents: true,
      usesSecret: true,
    },
    'journey-events': {
      description: 'Second reader of the timeline’s change stream: form submissions, conversions, custom events, consent changes and responses to journey messages go to the journey worker (entries, waits for an event, goals, exits).',
      entry: 'functions/journey-events/handler.ts',
      handler: 'handler',
      timeoutSeconds: 60,
      // TRIM_HORIZON: the mapping is created with the table, so it misses nothing written before its first poll (no journey runs yet then).
      stream: { table: 'interactions', batchSize: 500, maxBatchingWindowSeconds: 1, startingPosition: 'TRIM_HORIZON', retryAttempts: 10 },
      tables: {},
      sendsTo: ['journeyTasks'],
    },
    'send-dispatcher': {
      description: 'Every minute, moves deferred sends that are due onto the channel queues, wakes journey waits that are due, and starts the segment checks of segment-entry journeys.',
      entry: 'functions/send-dispatcher/handler.ts',
      handler: 'handler',
      timeoutSeconds: 60,
      schedules: [{ name: 'dispatch-deferred-sends', expression: 'rate(1 minute)', description: 'Deferred sends (quiet hours, local-time schedules) that are due go out.' }],
      tables: { campaigns: 'readWrite', sends: 'readWrite', segments: 'read', segmentStats: 'read', contacts: 'read', activity: 'read', journeys: 'readWrite', journeyStates: 'readWrite' },
      sendsTo: ['audienceScan', 'emailSends', 'smsSends', 'journeyTasks'],
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
      tables: { ...contactTables, idempotency: 'readWrite', campaigns: 'write' },
      publishesEvents: true,
      usesSecret: true,
    },
    'events-api': {
      description: 'Marketer/back-office API for conversions, visits, page views and custom events: POST /v1/events, once per idempotency key.',
      entry: 'functions/events-api/handler.ts',
      handler: 'handler',
      timeoutSeconds: 10,
      http: [{ method: 'POST', path: '/v1/events' }],
      tables: { ...contactTables, idempotency: 'readWrite', campaigns: 'readWrite' },
      publishesEvents: true,
      usesSecret: true,
    },
    'sites-api': {
      description: 'Marketer API for sites: the web properties whose thank-you pages may report conversions, and their allowed origins.',
      entry: 'functions/sites-api/handler.ts',
      handler: 'handler',
      timeoutSeconds: 10,
      http: [
        { method: 'POST', path: '/v1/sites' },
        { method: 'GET', path: '/v1/sites' },
        { method: 'GET', path: '/v1/sites/{id}' },
        { method: 'PATCH', path: '/v1/sites/{id}' },
        { method: 'DELETE', path: '/v1/sites/{id}' },
      ],
      tables: { sites: 'readWrite' },
      linksToPublicApi: true,
    },
    'site-events': {
      description: 'Public conversions, visits, page views and custom events from a site\u2019s pages (POST /e/{siteKey}): allowed origins only, rate-limited, visitor named by a signed click id or an address.',
      entry: 'functions/site-events/handler.ts',
      handler: 'handler',
      timeoutSeconds: 10,
      http: [
        { method: 'OPTIONS', path: '/e/{siteKey}', public: true },
        { method: 'POST', path: '/e/{siteKey}', public: true },
      ],
      tables: { ...contactTables, sites: 'read', rateLimits: 'readWrite', idempotency: 'readWrite', campaigns: 'readWrite' },
      publishesEvents: true,
      usesSecret: true,
    },
    tracking: {
      description: 'Public click redirects and the open pixel of tracked email, recorded on the timeline; links into a registered site carry a signed click id.',
      entry: 'functions/tracking/handler.ts',
      handler: 'handler',
      timeoutSeconds: 10,
      http: [
        { method: 'GET', path: '/t/c/{token}', public: true },
        { method: 'GET', path: '/t/o/{token}', public: true },
      ],
      tables: { ...contactTables, idempotency: 'readWrite', sites: 'read', campaigns: 'write' },
      publishesEvents: true,
      usesSecret: true,
    },
    'sms-inbound': {
      description: 'Handles inbound SMS: STOP and synonyms opt out (one confirmation), HELP, START/UNSTOP; records replies.',
      entry: 'functions/sms-inbound/handler.ts',
      handler: 'handler',
      timeoutSeconds: 30,
      queue: { queue: 'smsInbound', batchSize: 10, maxConcurrency: 2 },
      tables: { ...contactTables, idempotency: 'readWrite', campaigns: 'write' },
      publishesEvents: true,
      usesSecret: true,
      sendsSms: true,
    },
    'history-import': {
      description: 'Imports a past campaign (sends with holdout flags and variants, interactions, conversions) so its history flows through attribution, lift and scores.',
      entry: 'functions/history-import/handler.ts',
      handler: 'handler',
      timeoutSeconds: 29,
      memoryMb: 1024,
      http: [{ method: 'POST', path: '/v1/campaigns/import' }],
      tables: { ...contactTables, campaigns: 'readWrite', sends: 'readWrite', idempotency: 'write', imports: 'readWrite' },
      sendsTo: ['importUploads'],
      publishesEvents: true,
      usesSecret: true,
      linksToPublicApi: true,
    },
    'imports-api': {
      description: 'Import jobs: create one (a presigned upload URL for the file), follow its progress, download its failed rows.',
      entry: 'functions/imports-api/handler.ts',
      handler: 'handler',
      timeoutSeconds: 15,
      http: [
        { method: 'POST', path: '/v1/imports' },
        { method: 'GET', path: '/v1/imports' },
        { method: 'GET', path: '/v1/imports/{id}' },
        { method: 'GET', path: '/v1/imports/{id}/errors' },
      ],
      tables: { imports: 'readWrite' },
      buckets: { imports: 'readWrite' },
      linksToPublicApi: true,
    },
    'import-splitter': {
      description: 'Splits an uploaded import file into chunks of whole rows (reading it once) and hands them to the workers; resumes a split cut short.',
      entry: 'functions/import-splitter/handler.ts',
      handler: 'handler',
      timeoutSeconds: 900,
      memoryMb: 2048,
      queue: { queue: 'importUploads', batchSize: 1, maxConcurrency: 2 },
      tables: { imports: 'readWrite' },
      buckets: { imports: 'readWrite' },
      sendsTo: ['importChunks'],
      linksToPublicApi: true,
    },
    'import-worker': {
      description: 'Imports one chunk of an import job (replay-exact), records its failed rows and adds its totals to the job once; the last chunk completes the job.',
      // Off the request path and carrying every kind (phone validation, templates, S3): a cold start costs a chunk a little, never a person waiting.
      bundleBudgetKb: 1_250,
      entry: 'functions/import-worker/handler.ts',
      handler: 'handler',
      timeoutSeconds: 300,
      memoryMb: 1769,
      queue: { queue: 'importChunks', batchSize: 1, maxConcurrency: 2 },
      tables: { ...contactTables, imports: 'readWrite', campaigns: 'readWrite', sends: 'readWrite', idempotency: 'readWrite', segments: 'readWrite', segmentStats: 'read', templates: 'readWrite' },
      buckets: { imports: 'readWrite' },
      publishesEvents: true,
      usesSecret: true,
      linksToPublicApi: true,
    },
    'attribution-api': {
      description: 'Attribution runs on demand, campaign reports (JSON and an HTML page with inline SVG charts) and the learned models (JSON, an HTML page, forecast accuracy).',
      entry: 'functions/attribution-api/handler.ts',
      handler: 'handler',
      timeoutSeconds: 15,
      http: [
        { method: 'POST', path: '/v1/attribution/runs' },
        { method: 'GET', path: '/v1/attribution/runs/{id}' },
        { method: 'GET', path: '/v1/campaigns/{id}/report' },
        { method: 'GET', path: '/v1/campaigns/{id}/report.html' },
        { method: 'GET', path: '/v1/models' },
        { method: 'GET', path: '/v1/models.html' },
        { method: 'GET', path: '/v1/models/{id}' },
        { method: 'GET', path: '/v1/models/{id}/versions/{n}' },
        { method: 'GET', path: '/v1/forecast-accuracy' },
      ],
      // models: read only (the /v1/models routes); the nightly run's workers write it.
      tables: { interactions: 'read', contacts: 'readWrite', activity: 'read', campaigns: 'read', sends: 'read', attribution: 'readWrite', attributionRuns: 'readWrite', attributionParts: 'readWrite', reports: 'readWrite', segments: 'read', segmentStats: 'readWrite', models: 'read' },
      sendsTo: ['attributionScan', 'journeyTasks'],
    },
    'attribution-worker': {
      description: 'Attributes one scan segment of the interactions (credit, lift, responses, scores); the last segment writes the reports.',
      entry: 'functions/attribution-worker/handler.ts',
      handler: 'handler',
      timeoutSeconds: 900,
      memoryMb: 1769,
      queue: { queue: 'attributionScan', batchSize: 1, maxConcurrency: 8 },
      tables: { interactions: 'read', contacts: 'readWrite', activity: 'read', campaigns: 'read', sends: 'read', attribution: 'readWrite', attributionRuns: 'readWrite', attributionParts: 'readWrite', reports: 'readWrite', segments: 'read', segmentStats: 'readWrite' },
      // learning: a learning run's scan pages write their training examples there; the finishing worker enqueues the training.
      buckets: { learning: 'write' },
      sendsTo: ['attributionScan', 'learning'],
    },
    'learning-worker': {
      description:
        'A learning run after attribution: trains a goal\u2019s propensity and uplift models (or BTYD) from the run\u2019s examples, stores versions, then scores a contacts scan segment per message (writing only moved scores); the last one completes the run.',
      entry: 'functions/learning-worker/handler.ts',
      handler: 'handler',
      timeoutSeconds: 900,
      memoryMb: 1769,
      queue: { queue: 'learning', batchSize: 1, maxConcurrency: 4 },
      tables: { contacts: 'readWrite', activity: 'read', models: 'readWrite', attributionRuns: 'readWrite', campaigns: 'read', reports: 'read', segments: 'read', segmentStats: 'readWrite' },
      buckets: { learning: 'read' },
      sendsTo: ['learning'],
    },
    'attribution-nightly': {
      description: 'Starts the nightly attribution run for the previous UTC day.',
      entry: 'functions/attribution-nightly/handler.ts',
      handler: 'handler',
      timeoutSeconds: 30,
      schedules: [{ name: 'nightly-attribution', expression: 'cron(0 2 * * ? *)', timezone: 'UTC', description: 'Attribution, lift, reports and scores for the previous day.' }],
      tables: { interactions: 'read', contacts: 'readWrite', activity: 'read', campaigns: 'read', sends: 'read', attribution: 'readWrite', attributionRuns: 'readWrite', attributionParts: 'readWrite', reports: 'readWrite', segments: 'read', segmentStats: 'readWrite' },
      sendsTo: ['attributionScan', 'journeyTasks'],
    },
    'twilio-webhooks': {
      description: 'Twilio inbound SMS and status callbacks, accepted only with a valid X-Twilio-Signature.',
      entry: 'functions/twilio-webhooks/handler.ts',
      handler: 'handler',
      timeoutSeconds: 10,
      http: [
        { method: 'POST', path: '/webhooks/twilio/sms', public: true },
        { method: 'POST', path: '/webhooks/twilio/status', public: true },
      ],
      // sends: Twilio statuses of transactional messages are kept on their send records (conditional updates of existing ones only).
      tables: { ...contactTables, idempotency: 'readWrite', campaigns: 'write', sends: 'write' },
      sendsTo: ['smsInbound'],
      publishesEvents: true,
      usesSecret: true,
      linksToPublicApi: true,
      receivesTwilioWebhooks: true,
    },
    'response-recorder': {
      description: 'Records SES sending events on contacts\u2019 timelines; bounces and complaints suppress; clicks earn lead points.',
      entry: 'functions/response-recorder/handler.ts',
      handler: 'handler',
      timeoutSeconds: 60,
      queue: { queue: 'providerEvents', batchSize: 25, maxBatchingWindowSeconds: 2, maxConcurrency: 5 },
      // sends: delivery events of transactional messages are kept on their send records (conditional updates of existing ones only).
      tables: { ...contactTables, campaigns: 'readWrite', idempotency: 'write', sends: 'write' },
      publishesEvents: true,
      usesSecret: true,
    },
    'interaction-recorder': {
      description: 'Writes domain events onto contacts\u2019 timelines, once each.',
      entry: 'functions/interaction-recorder/handler.ts',
      handler: 'handler',
      timeoutSeconds: 30,
      queue: { queue: 'interactions', batchSize: 25, maxBatchingWindowSeconds: 1, maxConcurrency: 5 },
      tables: { interactions: 'write', contacts: 'readWrite', activity: 'write' },
    },
    'lead-scorer': {
      description: 'Adds lead points for behaviour, once per event.',
      entry: 'functions/lead-scorer/handler.ts',
      handler: 'handler',
      timeoutSeconds: 30,
      queue: { queue: 'leadScoring', batchSize: 25, maxBatchingWindowSeconds: 1, maxConcurrency: 5 },
      tables: { contacts: 'readWrite', idempotency: 'write' },
    },
    'stream-publisher': {
      description: 'Publishes every new timeline entry (sends and interactions) once to the event stream (Firehose → S3, NDJSON locally), many events per record.',
      entry: 'functions/stream-publisher/handler.ts',
      handler: 'handler',
      timeoutSeconds: 60,
      stream: { table: 'interactions', batchSize: 1000, maxBatchingWindowSeconds: 60, startingPosition: 'TRIM_HORIZON', retryAttempts: 10 },
      writesEventStream: true,
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
      description: 'Contact changes and consent changes are recorded on the timeline (form submissions write their own entry).',
      pattern: patternFor(ContactUpdated, ConsentChanged),
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
    'sms-events': {
      description: 'End User Messaging SMS delivery status events (sent by the service to the default bus) are recorded on the timelines.',
      bus: 'default',
      pattern: SMS_EVENTS_PATTERN,
      target: { queue: 'providerEvents' },
    },
    'double-opt-in-mail': {
      description: 'Leads that must confirm their email consent get the confirmation email.',
      pattern: { ...patternFor(LeadCaptured), detail: { confirmationNeeded: [true] } },
      target: { queue: 'confirmations' },
    },
  },
});

/** The topology as both engines read it: every function an entry of the same shape. */
export const topology: Topology<keyof typeof declared.tables, keyof typeof declared.queues, keyof typeof declared.functions> = declared;
export type TouchloopTopology = typeof topology;
/** Each function's entry with its literal type (its tables, queues and flags): shared/wiring.ts derives configuration types from it. */
export type FunctionDeclarations = typeof declared.functions;
