import { GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { isHoldout } from '../shared/campaigns/assignment.ts';
import { CampaignStore } from '../shared/campaigns/campaign-store.ts';
import { forEachLimit } from '../shared/concurrency.ts';
import { newContact } from '../shared/contacts/contact-store.ts';
import { JourneyStore, type JourneyStats } from '../shared/journeys/journey-store.ts';
import { entrySk, JourneyStateStore, waitShardOf } from '../shared/journeys/state-store.ts';
import { wakeDueWaits } from '../shared/journeys/sweep.ts';
import { statsUpdate } from '../shared/journeys/stats.ts';
import { stepCampaignId } from '../shared/journeys/step-campaigns.ts';
import type { Units } from '../test/helpers/dynamodb-meter.ts';
import { median, print } from './harness.ts';
import { PRICE, startMeteredRuntime, type MeteredRuntime } from './support/metered-runtime.ts';

/**
 * Contacts in the segment. The issue's figure is for 100,000 (BENCH_JOURNEY_CONTACTS=100000); the
 * default takes about ten minutes on two shared cores (DynamoDB Local does 50–100 steps a second here).
 */
const CONTACTS = Number(process.env.BENCH_JOURNEY_CONTACTS ?? 10_000);
/** The engine-only journey (no send step) runs on the first this many of them: 0 skips it. */
const ENGINE_CONTACTS = Math.min(CONTACTS, Number(process.env.BENCH_JOURNEY_ENGINE_CONTACTS ?? 5_000));
const HOLDOUT_PERCENT = 10;
/** One contact in four is on the "pro" plan: the split sends them the offer, the others leave. */
const PRO_EVERY = 4;
/**
 * Lambda time on AWS modelled from the request count: about 6 ms per DynamoDB/SQS call, one at a
 * time (the journey worker takes a batch's records one after another) at the worker's 1,024 MB.
 */
const GB_SECONDS_PER_CALL = 0.006 * 1;
/** Ops for the DynamoDB Local ceiling of a step's own minimal work. */
const CEILING_OPS = 2_000;
/** Waits for the sweep measured on its own. */
const SWEEP_WAITS = 5_000;

interface Totals {
  units: Units;
  sqsRequests: number;
  eventEntries: number;
  lambdaInvocations: number;
  gbSeconds: number;
  dynamoRequests: number;
}

interface Phase extends Totals {
  seconds: number;
  steps: number;
  /**
   * Index writes inside transactions, which the meter cannot see (it prices a transaction from
   * its request, and DynamoDB Local reports no index units for one). Both journeyStates indexes
   * hold keys only, so an index is written only when its keys change: the byJourney copy when an
   * entry is put (in the entry's transaction, 1 WRU); the byDue copy moves in plain updates, which
   * DynamoDB Local meters; an exit's transaction changes no index key.
   */
  indexWrites: number;
}

interface JourneyRun {
  label: string;
  entrants: number;
  holdout: number;
  entrySeconds: number;
  enter: Phase;
  wakeUps: number;
  wakeSeconds: number;
  /** The dispatcher run that the clock's move started, to its end. */
  sweepSeconds: number;
  finish: Phase;
  emailsSent: number;
  emailsSeconds: number;
  stats: JourneyStats;
}

const contactIdOf = (i: number) => `${String(i).padStart(8, '0')}-0000-4000-8000-000000000000`;
const enteredSum = (stats: JourneyStats): number => Object.values(stats.steps).reduce((sum, s) => sum + s.entered, 0);
/** Index writes inside transactions so far: the byJourney key copy of each entry put (see Phase.indexWrites). */
const indexWritesOf = (stats: JourneyStats, _wait: string): number => stats.entries;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fmt = (n: number) => n.toLocaleString('en-US');

/**
 * A segment-triggered journey through the local runtime (issue 14): CONTACTS contacts with a tag
 * and confirmed email consent enter at once (holdout 10 %), get a tag (update), wait a day,
 * are split on their plan, and the "pro" quarter is sent an email through the journey's step
 * campaign before they leave. Measured in two phases, entries and first steps, then — after the
 * runtime's clock moves past the wait — the dispatcher's wake-ups through to the last exit and the
 * last email: rates in the local runtime, DynamoDB capacity units per step execution (metered by
 * the proxy that asks DynamoDB Local for ReturnConsumedCapacity), SQS requests, Lambda
 * invocations and time, and what a million step executions would cost on AWS. A second journey
 * without a send step isolates the engine.
 */
export async function run(): Promise<void> {
  // Journey sends go at the campaign pipeline's default rate (the SES sandbox's 14/s) unless
  // the function is told otherwise; a journey definition has no rate of its own.
  const bench = await startMeteredRuntime({ environment: { EMAIL_SEND_RATE: '10000' } });
  const { runtime } = bench;
  try {
    const seedStart = performance.now();
    const now = new Date().toISOString();
    const contacts = Array.from({ length: CONTACTS }, (_, i) => {
      const c = newContact(contactIdOf(i), now);
      c.email = `bench${i}@example.com`;
      c.tags = i < ENGINE_CONTACTS ? ['bench', 'bench-engine'] : ['bench'];
      c.attributes = { firstName: `Name${i}`, plan: i % PRO_EVERY ? 'free' : 'pro' };
      c.consent = { email: { status: 'confirmed', updatedAt: now, source: 'bench', wordingVersion: 'v1', confirmedAt: now } };
      return c as unknown as Record<string, unknown>;
    });
    await bench.seed(runtime.tableNames.contacts!, contacts);
    const seedSeconds = (performance.now() - seedStart) / 1000;

    const template = await bench.api<{ template: { id: string } }>('POST', '/v1/templates', { channel: 'email', name: 'Bench offer', subject: 'An offer for {{default contact.firstName "you"}}', html: '<p>Hi {{contact.firstName}}, pro plans are 20% off this week.</p>', text: 'Hi {{contact.firstName}}, pro plans are 20% off this week.' });
    const segmentId = async (tag: string) => (await bench.api<{ segment: { id: string } }>('POST', '/v1/segments', { name: `Bench ${tag}`, rule: { field: 'tags', op: 'contains', value: tag } })).segment.id;
    const isPro = { field: 'attributes.plan', op: 'eq', value: 'pro' };
    const journey = (name: string, segment: string, withSend: boolean) => ({
      name,
      entry: { type: 'segment_audience', segmentId: segment, schedule: { type: 'immediate' } },
      holdoutPercent: HOLDOUT_PERCENT,
      start: 'tag',
      steps: {
        tag: { type: 'update', set: { addTags: [`journeyed-${withSend ? 'offer' : 'engine'}`] }, next: 'pause' },
        pause: { type: 'wait', duration: { amount: 1, unit: 'days' }, next: 'plan' },
        plan: { type: 'split', branches: [{ name: 'pro', when: { rule: isPro }, next: withSend ? 'offer' : 'done' }], otherwise: 'done' },
        ...(withSend ? { offer: { type: 'send', channels: ['email'], templates: { email: template.template.id }, next: 'done' } } : {}),
        done: { type: 'exit' },
      },
      goal: { event: 'purchase', attributionWindowDays: 7 },
      limits: { quietHours: { email: null, sms: null } },
    });

    const runs: JourneyRun[] = [];
    runs.push(await runJourney(bench, 'with a send step', journey('Bench offer', await segmentId('bench'), true), CONTACTS, 'offer'));
    if (ENGINE_CONTACTS > 0) runs.push(await runJourney(bench, 'engine only (no send step)', journey('Bench engine', await segmentId('bench-engine'), false), ENGINE_CONTACTS, undefined));

    const ceilings: number[] = [];
    for (let i = 0; i < 3; i++) ceilings.push(await stepCeiling(bench, i));
    const ceiling = median(ceilings);
    const sweepRate = await sweepAlone(bench);

    for (const r of runs) report(r, ceiling);
    print('Context', [
      { name: `DynamoDB Local ceiling: a step's own minimal work (consistent get + 2-item gate transaction), 5 in flight, median of 3`, value: ceiling, unit: 'steps/s' },
      { name: `the dispatcher's sweep alone: ${fmt(SWEEP_WAITS)} due waits leased and handed to a queue stub, nothing else running`, value: sweepRate, unit: 'wake-ups/s' },
      { name: 'seeding contacts (batch writes, not measured)', value: seedSeconds, unit: 's' },
    ]);
    console.log('  Rates are bounded by DynamoDB Local (one process, a single writer) on a shared 2-core machine: compare ratios, not absolutes.');
  } finally {
    await bench.stop();
  }
}

/** Starts the journey, measures its two phases and checks that everyone went where the definition sends them. */
async function runJourney(bench: MeteredRuntime, label: string, definition: Record<string, unknown>, population: number, sendStep: string | undefined): Promise<JourneyRun> {
  const { runtime } = bench;
  const store = new JourneyStore(runtime.tableNames.journeys!, bench.db);
  const created = await bench.api<{ journey: { id: string } }>('POST', '/v1/journeys', definition);
  const id = created.journey.id;
  console.error(`  … ${label}: ${fmt(population)} contacts`);

  // Phase 1: the start → every contact entered (or held out) and at the wait.
  let mark = begin(bench);
  const start = performance.now();
  await bench.api('POST', `/v1/journeys/${id}/start`);
  let entrySeconds = Number.NaN;
  let stats: JourneyStats;
  for (;;) {
    await sleep(250);
    stats = await store.stats(id);
    if (Number.isNaN(entrySeconds) && stats.entries >= population) entrySeconds = (performance.now() - start) / 1000;
    if (stats.entries >= population && (stats.steps.pause?.entered ?? 0) >= stats.entries - stats.holdout) break;
  }
  const enterSeconds = (performance.now() - start) / 1000;
  // What the steps set off (the contacts' change stream: segment stats, the event stream) belongs to their cost.
  await runtime.idle(30 * 60_000);
  const afterEnter = stats;
  const enter: Phase = { ...end(bench, mark), seconds: enterSeconds, steps: enteredSum(afterEnter), indexWrites: indexWritesOf(afterEnter, 'pause') };
  const entrants = afterEnter.entries - afterEnter.holdout;
  console.error(`  … entered ${fmt(afterEnter.entries)} (${fmt(afterEnter.holdout)} held out) in ${enterSeconds.toFixed(1)} s`);

  // Phase 2: a day later → every wait woken, every contact out, every email sent.
  mark = begin(bench);
  const wakeStart = performance.now();
  let sweepSeconds = Number.NaN;
  // The clock moves and the dispatcher runs once at once (its sweep leases the due waits and puts the wake-ups on the queue).
  const advanced = runtime.advanceClock(86_400_000 + 3_600_000).then(() => (sweepSeconds = (performance.now() - wakeStart) / 1000));
  let wakeSeconds = Number.NaN;
  for (;;) {
    await sleep(250);
    stats = await store.stats(id);
    if (Number.isNaN(wakeSeconds) && (stats.steps.pause?.left ?? 0) >= entrants) wakeSeconds = (performance.now() - wakeStart) / 1000;
    if ((stats.exits.completed ?? 0) >= entrants) break;
  }
  const finishSeconds = (performance.now() - wakeStart) / 1000;
  await advanced;
  await runtime.idle(30 * 60_000);
  const emailsSeconds = (performance.now() - wakeStart) / 1000;
  const finish: Phase = { ...end(bench, mark), seconds: finishSeconds, steps: enteredSum(stats) - enteredSum(afterEnter), indexWrites: indexWritesOf(stats, 'pause') - indexWritesOf(afterEnter, 'pause') };
  const campaign = sendStep ? await new CampaignStore(runtime.tableNames.campaigns!, bench.db).get(stepCampaignId(id, 1, sendStep)) : undefined;
  const emailsSent = campaign?.counters.sent ?? 0;
  console.error(`  … woken ${fmt(stats.steps.pause?.left ?? 0)} in ${wakeSeconds.toFixed(1)} s, all out in ${finishSeconds.toFixed(1)} s, ${fmt(emailsSent)} emails sent`);

  // Everyone went where the definition sends them: the pro quarter to the offer, every entrant out, nobody stuck.
  const pro = Array.from({ length: population }, (_, i) => i).filter((i) => i % PRO_EVERY === 0 && !isHoldout(id, contactIdOf(i), HOLDOUT_PERCENT)).length;
  if (stats.entries !== population) throw new Error(`${label}: ${stats.entries} entries for ${population} contacts`);
  if ((stats.steps.done?.entered ?? 0) !== entrants) throw new Error(`${label}: ${stats.steps.done?.entered ?? 0} reached the exit of ${entrants} entrants`);
  if (sendStep && (stats.steps[sendStep]?.entered !== pro || emailsSent !== pro)) throw new Error(`${label}: ${stats.steps[sendStep]?.entered} at the send step and ${emailsSent} emails sent for ${pro} pro entrants`);
  return { label, entrants, holdout: stats.holdout, entrySeconds, enter, wakeUps: stats.steps.pause?.left ?? 0, wakeSeconds, sweepSeconds, finish, emailsSent, emailsSeconds, stats };
}

interface Mark {
  lambda: Map<string, { invocations: number; ms: number }>;
  entries: number;
}

/** Zeroes the meter and the request counters, and marks the Lambda and bus counters. */
function begin(bench: MeteredRuntime): Mark {
  bench.meter.reset();
  for (const key of Object.keys(bench.runtime.awsEndpoint.requests)) delete bench.runtime.awsEndpoint.requests[key];
  return { lambda: bench.lambdaMark(), entries: bench.runtime.bus.counters.entries };
}

function end(bench: MeteredRuntime, mark: Mark): Totals {
  const units = structuredClone(bench.meter.units);
  const requests = bench.runtime.awsEndpoint.requests;
  const lambda = bench.lambdaSince(mark.lambda);
  return {
    units,
    // Lambda's SQS poller: one ReceiveMessage and one DeleteMessageBatch per batch it delivers.
    sqsRequests: (requests['SQS.SendMessageBatch'] ?? 0) + (requests['SQS.SendMessage'] ?? 0) + 2 * lambda.queueInvocations,
    eventEntries: bench.runtime.bus.counters.entries - mark.entries,
    lambdaInvocations: lambda.invocations,
    gbSeconds: lambda.gbSeconds,
    dynamoRequests: Object.values(units.requests).reduce((a, b) => a + b, 0),
  };
}

/**
 * What DynamoDB Local allows for the least a step does: read the entry consistently and move it
 * with the conditional two-item transaction (the entry on its seq, the stats shard's ADD), five
 * in flight (the journey worker's concurrency), nothing else. The engine's rates are quoted against it.
 */
async function stepCeiling(bench: MeteredRuntime, run: number): Promise<number> {
  const { runtime, db } = bench;
  const table = runtime.tableNames.journeyStates!;
  const journeysTable = runtime.tableNames.journeys!;
  const journeyId = `ceiling-${run}`;
  const ids = Array.from({ length: CEILING_OPS }, (_, i) => `ceiling-${run}-${i}`);
  await bench.seed(table, ids.map((contactId) => ({ contactId, sk: entrySk(journeyId, 1), journeyId, journeyEntry: journeyId, entry: 1, seq: 0, status: 'active', stepId: 'a' })));
  await runtime.idle(60_000);
  const start = performance.now();
  await forEachLimit(ids, 5, async (contactId, i) => {
    const { Item } = await db.send(new GetCommand({ TableName: table, Key: { contactId, sk: entrySk(journeyId, 1) }, ConsistentRead: true }));
    await db.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: table,
              Key: { contactId, sk: entrySk(journeyId, 1) },
              UpdateExpression: 'SET seq = :next, stepId = :to',
              ConditionExpression: 'seq = :seq AND #s = :was',
              ExpressionAttributeNames: { '#s': 'status' },
              ExpressionAttributeValues: { ':next': Number(Item!.seq) + 1, ':seq': Item!.seq, ':was': 'active', ':to': 'b' },
            },
          },
          statsUpdate(journeysTable, journeyId, i % 8, { 'left#a': 1, 'entered#b': 1 }),
        ],
      }),
    );
  });
  const rate = CEILING_OPS / ((performance.now() - start) / 1000);
  console.error(`  … DynamoDB Local ceiling: ${rate.toFixed(0)} steps/s`);
  return rate;
}

/**
 * The wait sweep on its own (shared/journeys/sweep.ts, as the dispatcher runs it), with nothing
 * else running: SWEEP_WAITS waiting entries due half a year ahead (so the runtime's own
 * dispatcher leaves them alone), swept as of a year ahead, their wake-ups counted, not queued.
 */
async function sweepAlone(bench: MeteredRuntime): Promise<number> {
  const { runtime, db } = bench;
  const dueAt = new Date(Date.now() + 180 * 86_400_000).toISOString();
  await bench.seed(
    runtime.tableNames.journeyStates!,
    Array.from({ length: SWEEP_WAITS }, (_, i) => {
      const contactId = `sweep-${i}`;
      return { contactId, sk: entrySk('sweep', 1), journeyId: 'sweep', journeyEntry: 'sweep', entry: 1, version: 1, seq: 1, status: 'waiting', stepId: 'pause', enteredAt: dueAt, dueAt, dueShard: waitShardOf(contactId) };
    }),
  );
  await runtime.idle(10 * 60_000);
  let handed = 0;
  const start = performance.now();
  const woken = await wakeDueWaits(
    {
      states: new JourneyStateStore(runtime.tableNames.journeyStates!, db),
      journeys: new JourneyStore(runtime.tableNames.journeys!, db),
      tasksQueue: 'unused',
      send: async (_queue, bodies) => ((handed += bodies.length), Math.ceil(bodies.length / 10)),
    },
    new Date(Date.now() + 365 * 86_400_000),
    10 * 60_000,
  );
  const rate = woken / ((performance.now() - start) / 1000);
  if (woken !== SWEEP_WAITS || handed !== SWEEP_WAITS) throw new Error(`the sweep woke ${woken} and handed on ${handed} of ${SWEEP_WAITS} due waits`);
  console.error(`  … the sweep alone: ${rate.toFixed(0)} wake-ups/s`);
  return rate;
}

function report(r: JourneyRun, ceiling: number): void {
  const steps = r.enter.steps + r.finish.steps;
  const all: Totals = {
    units: {
      read: r.enter.units.read + r.finish.units.read,
      write: r.enter.units.write + r.finish.units.write,
      requests: {},
      writeUnitsByTable: Object.fromEntries([...new Set([...Object.keys(r.enter.units.writeUnitsByTable), ...Object.keys(r.finish.units.writeUnitsByTable)])].map((t) => [t, (r.enter.units.writeUnitsByTable[t] ?? 0) + (r.finish.units.writeUnitsByTable[t] ?? 0)])),
      writesByTable: {},
    },
    sqsRequests: r.enter.sqsRequests + r.finish.sqsRequests,
    eventEntries: r.enter.eventEntries + r.finish.eventEntries,
    lambdaInvocations: r.enter.lambdaInvocations + r.finish.lambdaInvocations,
    gbSeconds: r.enter.gbSeconds + r.finish.gbSeconds,
    dynamoRequests: r.enter.dynamoRequests + r.finish.dynamoRequests,
  };
  const perStep = (n: number) => n / steps;
  const tableUnits = (prefix: string) => Object.entries(all.units.writeUnitsByTable).filter(([t]) => t.replace(/^bench-/, '') === prefix).reduce((s, [, u]) => s + u, 0);
  const journeyTables = tableUnits('journeys') + tableUnits('journeyStates');
  const modelledGbSeconds = all.dynamoRequests * GB_SECONDS_PER_CALL;
  const indexWrites = r.enter.indexWrites + r.finish.indexWrites;
  const fixed = all.units.write * PRICE.dynamoWrite + all.units.read * PRICE.dynamoRead + all.sqsRequests * PRICE.sqsRequest + all.lambdaInvocations * PRICE.lambdaRequest + all.eventEntries * PRICE.eventBridgeEvent;
  const perMillion = (usd: number) => (usd / steps) * 1e6;
  const byTable = Object.entries(all.units.writeUnitsByTable)
    .sort(([, a], [, b]) => b - a)
    .map(([table, units]) => ({ name: `  ${table.replace(/^bench-/, '')}`, value: perStep(units), unit: 'WRU' }));

  print(`Journey ${r.label}: ${fmt(r.entrants + r.holdout)} contacts through the local runtime (${fmt(r.entrants)} entered, ${fmt(r.holdout)} held out; update → wait 1 day → split${r.emailsSent ? ` → send (${fmt(r.emailsSent)} emails)` : ''} → exit)`, [
    { name: 'entries (start → every contact entered or held out)', value: (r.entrants + r.holdout) / r.entrySeconds, unit: 'entries/s' },
    { name: 'step executions, entry phase (update, wait)', value: r.enter.steps / r.enter.seconds, unit: 'steps/s' },
    { name: '  entry phase wall time', value: r.enter.seconds, unit: 's' },
    { name: 'wake-ups (clock moved → every wait woken)', value: r.wakeUps / r.wakeSeconds, unit: 'wake-ups/s' },
    { name: '  the dispatcher run the clock started (sweep of due waits)', value: r.sweepSeconds, unit: 's' },
    { name: `step executions, wake phase (split${r.emailsSent ? ', send' : ''}, exit)`, value: r.finish.steps / r.finish.seconds, unit: 'steps/s' },
    { name: '  wake phase wall time (to the last exit)', value: r.finish.seconds, unit: 's' },
    ...(r.emailsSent ? [{ name: '  … to the last email sent', value: r.emailsSeconds, unit: 's' }] : []),
    { name: 'step executions in all (Σ entered over the steps)', value: steps, unit: 'steps' },
    { name: 'step executions/s as a share of the DynamoDB Local ceiling', value: (100 * (r.finish.steps / r.finish.seconds)) / ceiling, unit: '% (wake phase)' },
  ]);
  print('  Per step execution (both phases)', [
    { name: 'DynamoDB write units', value: perStep(all.units.write), unit: 'WRU' },
    { name: '  of which the journey tables (journeys, journeyStates)', value: perStep(journeyTables), unit: 'WRU' },
    ...byTable,
    { name: 'index writes inside transactions (not metered; estimated)', value: perStep(indexWrites), unit: 'WRU' },
    { name: 'DynamoDB write units incl. those index writes', value: perStep(all.units.write + indexWrites), unit: 'WRU' },
    { name: 'DynamoDB read units', value: perStep(all.units.read), unit: 'RRU' },
    { name: 'DynamoDB requests', value: perStep(all.dynamoRequests), unit: 'requests' },
    { name: 'SQS requests (incl. poller receive/delete)', value: perStep(all.sqsRequests), unit: 'requests' },
    { name: 'EventBridge entries', value: perStep(all.eventEntries), unit: 'entries' },
    { name: 'Lambda invocations', value: perStep(all.lambdaInvocations), unit: 'invocations' },
    { name: 'Lambda GB-seconds (local handler time)', value: perStep(all.gbSeconds), unit: 'GB-s' },
    { name: 'Lambda GB-seconds (modelled: 6 ms a call, 1 GB)', value: perStep(modelledGbSeconds), unit: 'GB-s' },
    { name: 'write units, entry phase', value: r.enter.units.write / r.enter.steps, unit: 'WRU/step' },
    { name: 'write units, wake phase', value: r.finish.units.write / r.finish.steps, unit: 'WRU/step' },
  ]);
  const operations = [...new Set([...Object.keys(r.enter.units.requests), ...Object.keys(r.finish.units.requests)])].sort();
  print('  DynamoDB requests per step execution, by operation (entry phase | wake phase)', operations.map((op) => ({ name: `${op.padEnd(20)} ${((r.enter.units.requests[op] ?? 0) / r.enter.steps).toFixed(3)} |`, value: (r.finish.units.requests[op] ?? 0) / r.finish.steps, unit: '' })));
  print(`  AWS cost per 1,000,000 step executions, us-east-1 on-demand (${r.emailsSent ? 'SES $0.10/1,000 emails excluded' : 'no messages'})`, [
    { name: 'DynamoDB writes ($0.625 per million WRU)', value: perMillion(all.units.write * PRICE.dynamoWrite), unit: 'USD' },
    { name: '  + index writes in transactions (estimated)', value: perMillion(indexWrites * PRICE.dynamoWrite), unit: 'USD' },
    { name: 'DynamoDB reads ($0.125 per million RRU)', value: perMillion(all.units.read * PRICE.dynamoRead), unit: 'USD' },
    { name: 'SQS ($0.40 per million requests)', value: perMillion(all.sqsRequests * PRICE.sqsRequest), unit: 'USD' },
    { name: 'EventBridge ($1 per million entries)', value: perMillion(all.eventEntries * PRICE.eventBridgeEvent), unit: 'USD' },
    { name: 'Lambda requests ($0.20 per million)', value: perMillion(all.lambdaInvocations * PRICE.lambdaRequest), unit: 'USD' },
    { name: 'Lambda duration, modelled (arm64 $0.0000133334/GB-s)', value: perMillion(modelledGbSeconds * PRICE.lambdaGbSecondArm), unit: 'USD' },
    { name: 'total (Lambda time modelled)', value: perMillion(fixed + modelledGbSeconds * PRICE.lambdaGbSecondArm), unit: 'USD' },
    { name: 'total, with the estimated index writes', value: perMillion(fixed + indexWrites * PRICE.dynamoWrite + modelledGbSeconds * PRICE.lambdaGbSecondArm), unit: 'USD' },
    { name: 'total (Lambda time as measured locally)', value: perMillion(fixed + all.gbSeconds * PRICE.lambdaGbSecondArm), unit: 'USD' },
  ]);
}
