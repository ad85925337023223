import { useProjectSecret } from '../shared/aws/secrets.ts';
import { contactsFrom, type ContactsConfig } from '../shared/contacts/wiring.ts';
import type { ImportChunk } from '../shared/imports/chunk.ts';
import { foldGroup, groupEndpoints, parseEndpointLine, type PinpointEndpoint } from '../shared/imports/pinpoint/endpoints.ts';
import { pinpointProcessor, type PinpointImportDeps } from '../shared/imports/pinpoint/processors.ts';
import { ImportRowLedger } from '../shared/imports/pinpoint/row-ledger.ts';
import { mapPinpointTemplate } from '../shared/imports/pinpoint/templates.ts';
import { SegmentStore } from '../shared/segments/segment-store.ts';
import { TemplateStore } from '../shared/templates/template-store.ts';
import { medianOf, print, prng } from './harness.ts';
import { startMeteredRuntime } from './support/metered-runtime.ts';

/** A Pinpoint export of `users` users, each with an EMAIL and an SMS endpoint on lines far apart; every tenth SMS opted out. */
function exportFile(users: number, seed: number, domain: string): string {
  const random = prng(seed);
  const email: string[] = [];
  const sms: string[] = [];
  for (let i = 0; i < users; i++) {
    const user = { UserId: `user-${domain}-${i}`, UserAttributes: { FirstName: [`Name${i}`], Tier: [random() < 0.2 ? 'gold' : 'basic'], Orders: [String(Math.floor(random() * 50))] } };
    const common = { EndpointStatus: 'ACTIVE', EffectiveDate: '2025-06-01T10:00:00.000Z', Location: { Country: 'US', City: 'Austin' }, Demographic: { Timezone: 'America/Chicago' }, User: user };
    email.push(JSON.stringify({ ...common, Id: `e-${i}`, ChannelType: 'EMAIL', Address: `person${i}@${domain}.example.com`, OptOut: 'NONE', Attributes: { Source: ['web'] } }));
    sms.push(JSON.stringify({ ...common, Id: `s-${i}`, ChannelType: 'SMS', Address: `+1512555${String(i).padStart(4, '0')}`, OptOut: i % 10 === 0 ? 'ALL' : 'NONE' }));
  }
  return [...email, ...sms].join('\n');
}

/**
 * The Pinpoint import: the pure mapping alone (lines read, grouped and folded into contact
 * records; templates mapped), then one chunk through the processor against DynamoDB Local —
 * lines per second and DynamoDB write units per line, first run and replay. The end-to-end rate is
 * the contact import's (every line goes through it) plus the ledger's plan and outcome writes.
 */
export async function run(): Promise<void> {
  const mappingFile = exportFile(50_000, 1, 'map').split('\n');
  const foldedPerSecond = await medianOf(3, () => {
    const start = performance.now();
    const parsed = mappingFile.map((text, index) => parseEndpointLine(index + 1, text)).filter((l): l is { line: number; endpoint: PinpointEndpoint } => 'endpoint' in l);
    const groups = groupEndpoints(parsed).map((group) => foldGroup(group, { consent: { consent: 'none' } }));
    if (groups.length !== 50_000) throw new Error(`${groups.length} groups`);
    return mappingFile.length / ((performance.now() - start) / 1000);
  });
  const template = {
    TemplateName: 'Bench',
    TemplateType: 'EMAIL',
    Subject: '{{User.UserAttributes.FirstName}}, your offer',
    HtmlPart: '<p>Hi {{User.UserAttributes.FirstName}}, {{#if Attributes.Tier}}tier {{Attributes.Tier}}{{/if}} in {{Location.City}}</p>',
    TextPart: 'Hi {{User.UserAttributes.FirstName}}, tier {{Attributes.Tier}} in {{Location.City}}',
    DefaultSubstitutions: '{"User.UserAttributes.FirstName":"there"}',
  };
  const templatesPerSecond = await medianOf(3, () => {
    const start = performance.now();
    for (let i = 0; i < 2_000; i++) if ('issues' in mapPinpointTemplate({ ...template, TemplateName: `Bench ${i}` })) throw new Error('template not mapped');
    return 2_000 / ((performance.now() - start) / 1000);
  });

  const bench = await startMeteredRuntime();
  try {
    useProjectSecret(process.env.TOUCHLOOP_SECRET_ARN!);
    const tables = bench.runtime.tableNames;
    const contacts = contactsFrom({ tables: tables as ContactsConfig['tables'], eventBus: process.env.EVENT_BUS_NAME! });
    const deps: PinpointImportDeps = {
      contacts: { service: contacts.service, store: contacts.store, suppressions: contacts.suppressions, publish: contacts.publish },
      segments: new SegmentStore({ segments: tables.segments!, segmentStats: tables.segmentStats! }),
      templates: new TemplateStore(tables.templates!),
      ledger: new ImportRowLedger(tables.idempotency!),
    };
    const users = 1_000;
    const chunk: ImportChunk = { jobId: 'bench-job', kind: 'pinpoint-endpoints', format: 'ndjson', index: 0, text: exportFile(users, 2, 'e2e'), firstLine: 1, actor: 'bench' };
    const lines = users * 2;
    const processor = pinpointProcessor('pinpoint-endpoints', deps);

    bench.meter.reset();
    let start = performance.now();
    const outcomes = await processor(chunk);
    const firstSeconds = (performance.now() - start) / 1000;
    const firstUnits = { ...bench.meter.units };
    if (outcomes.filter((o) => o.status === 'created').length !== lines) throw new Error(`not every line created: ${JSON.stringify(outcomes.find((o) => o.status !== 'created'))}`);

    bench.meter.reset();
    start = performance.now();
    await processor(chunk);
    const replaySeconds = (performance.now() - start) / 1000;
    const replayUnits = { ...bench.meter.units };

    print(`Pinpoint import (mapping: median of 3; end to end: one chunk of ${lines.toLocaleString('en-US')} lines, ${users.toLocaleString('en-US')} users, DynamoDB Local)`, [
      { name: 'endpoint lines read, grouped and folded (pure)', value: foldedPerSecond, unit: 'lines/s' },
      { name: 'templates mapped and checked (pure)', value: templatesPerSecond, unit: 'templates/s' },
      { name: 'endpoint lines imported (first run)', value: lines / firstSeconds, unit: 'lines/s' },
      { name: 'write units per line (first run)', value: firstUnits.write / lines, unit: 'WCU' },
      { name: 'endpoint lines answered from the ledger (replay)', value: lines / replaySeconds, unit: 'lines/s' },
      { name: 'write units per line (replay)', value: replayUnits.write / lines, unit: 'WCU' },
    ]);
  } finally {
    await bench.stop();
  }
}
