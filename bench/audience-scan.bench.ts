import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { batchWriteAll } from '../shared/aws/dynamodb.ts';
import { startDynamoDbLocal } from '../infra/local/dynamodb-local.ts';
import { createTables } from '../infra/local/tables.ts';
import { topology } from '../infra/topology.ts';
import { newContact } from '../shared/contacts/contact-store.ts';
import { hourOf } from '../shared/activity/activity.ts';
import { streamAudience } from '../shared/segments/audience.ts';
import { print } from './harness.ts';

const CONTACTS = 100_000;
const SCAN_SEGMENTS = 4;

/** A contact item as the pipeline stores it: attributes, consent, scores, a few behaviour counters (~1 KB). */
function syntheticContact(i: number, now: number) {
  const c = newContact(`${String(i).padStart(8, '0')}-0000-4000-8000-000000000000`, new Date(now - (i % 365) * 86_400_000).toISOString());
  c.email = `bench${i}@example.com`;
  if (i % 3 === 0) c.phone = `+1415${String(5_000_000 + i).slice(-7)}`;
  c.attributes = { firstName: `Name${i}`, plan: i % 4 ? 'free' : 'pro', city: ['London', 'Leeds', 'Paris', 'Berlin'][i % 4]!, age: 18 + (i % 60) };
  c.tags = i % 5 ? ['newsletter'] : ['newsletter', 'vip'];
  c.consent = { email: { status: 'confirmed', updatedAt: c.createdAt, source: 'bench', wordingVersion: 'v1', confirmedAt: c.createdAt } };
  c.activity = {
    [`sent|email|${hourOf(now - (i % 30) * 86_400_000)}`]: 1,
    [`opened|email|${hourOf(now - (i % 20) * 86_400_000)}`]: i % 3,
    [`clicked|email|${hourOf(now - (i % 45) * 86_400_000)}`]: i % 2,
  };
  return c;
}

/**
 * Read units an audience scan costs: 100,000 contacts written to DynamoDB Local, then read by a
 * 4-segment parallel scan with ReturnConsumedCapacity. On AWS a Scan costs 0.5 RCU per 4 KB
 * read (eventually consistent), whatever the filter keeps.
 */
export async function run(): Promise<void> {
  const dynamodb = await startDynamoDbLocal();
  try {
    const client = new DynamoDBClient({ endpoint: dynamodb.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
    const db = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
    const table = 'bench-contacts';
    await createTables(client, { contacts: topology.tables.contacts, activity: topology.tables.activity }, (name) => `bench-${name}`);
    const now = Date.now();
    const writeStart = performance.now();
    const batches: Array<ReturnType<typeof syntheticContact>[]> = [];
    for (let i = 0; i < CONTACTS; i += 25) batches.push(Array.from({ length: Math.min(25, CONTACTS - i) }, (_, j) => syntheticContact(i + j, now)));
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < batches.length) {
          const batch = batches[next++]!;
          await batchWriteAll(db, table, batch.map((Item) => ({ PutRequest: { Item: Item as unknown as Record<string, unknown> } })));
        }
      }),
    );
    const writeSeconds = (performance.now() - writeStart) / 1000;

    const scanStart = performance.now();
    let scanned = 0;
    let members = 0;
    let units = 0;
    for await (const page of streamAudience({ table, activityTable: 'bench-activity', test: (c) => c.attributes.plan === 'pro', totalSegments: SCAN_SEGMENTS, db, pageSize: 1000, now: new Date(now) })) {
      scanned += page.scanned;
      members += page.members.length;
      units += page.consumedCapacity;
    }
    const scanSeconds = (performance.now() - scanStart) / 1000;
    if (scanned !== CONTACTS) throw new Error(`scanned ${scanned} of ${CONTACTS}`);

    print(`Audience scan of ${CONTACTS.toLocaleString('en-US')} contacts in DynamoDB Local (${SCAN_SEGMENTS} parallel segments)`, [
      { name: 'read units consumed per 1,000 contacts scanned', value: (units / CONTACTS) * 1000, unit: 'RCU' },
      { name: 'audience members found (plan = pro)', value: members, unit: 'contacts' },
      { name: 'scan + rule throughput (DynamoDB Local, one machine)', value: CONTACTS / scanSeconds, unit: 'contacts/s' },
      { name: 'seeding throughput (BatchWrite, 8 in flight)', value: CONTACTS / writeSeconds, unit: 'contacts/s' },
    ]);
    client.destroy();
  } finally {
    await dynamodb.stop();
  }
}
