import {
  CreateTableCommand,
  DescribeTableCommand,
  ResourceInUseException,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
  type AttributeDefinition,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import type { KeyDef, TableDef } from '../topology-types.ts';

/**
 * Creates the topology's tables in DynamoDB Local from the same definitions the CDK stack uses;
 * a table some function consumes the changes of (`streamTables`) gets its stream (new images).
 */
export async function createTables(client: DynamoDBClient, tables: Record<string, TableDef>, nameOf: (name: string) => string, streamTables: ReadonlySet<string> = new Set()): Promise<Set<string>> {
  /** Tables this call created (the rest survived from an earlier run, --persist). */
  const created = new Set<string>();
  await Promise.all(
    Object.entries(tables).map(async ([name, def]) => {
      const keys: KeyDef[] = [def.partitionKey, ...(def.sortKey ? [def.sortKey] : [])];
      for (const index of def.indexes ?? []) keys.push(index.partitionKey, ...(index.sortKey ? [index.sortKey] : []));
      const attributes = new Map<string, AttributeDefinition>();
      for (const key of keys) attributes.set(key.name, { AttributeName: key.name, AttributeType: key.type });
      const tableName = nameOf(name);
      try {
        await client.send(
          new CreateTableCommand({
            TableName: tableName,
            BillingMode: 'PAY_PER_REQUEST',
            StreamSpecification: streamTables.has(name) ? { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' } : undefined,
            AttributeDefinitions: [...attributes.values()],
            KeySchema: [
              { AttributeName: def.partitionKey.name, KeyType: 'HASH' },
              ...(def.sortKey ? [{ AttributeName: def.sortKey.name, KeyType: 'RANGE' as const }] : []),
            ],
            GlobalSecondaryIndexes: def.indexes?.length
              ? def.indexes.map((index) => ({
                  IndexName: index.name,
                  KeySchema: [
                    { AttributeName: index.partitionKey.name, KeyType: 'HASH' as const },
                    ...(index.sortKey ? [{ AttributeName: index.sortKey.name, KeyType: 'RANGE' as const }] : []),
                  ],
                  Projection: { ProjectionType: index.projection ?? 'ALL' },
                }))
              : undefined,
          }),
        );
        created.add(name);
        if (def.timeToLiveAttribute) {
          await client.send(
            new UpdateTimeToLiveCommand({ TableName: tableName, TimeToLiveSpecification: { AttributeName: def.timeToLiveAttribute, Enabled: true } }),
          );
        }
      } catch (error) {
        // --persist: the table survives from an earlier run; add indexes a newer topology declares.
        if (!(error instanceof ResourceInUseException)) throw error;
        const described = await client.send(new DescribeTableCommand({ TableName: tableName }));
        if (streamTables.has(name) && !described.Table?.StreamSpecification?.StreamEnabled) {
          await client.send(new UpdateTableCommand({ TableName: tableName, StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' } }));
        }
        const existing = new Set((described.Table?.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName));
        for (const index of def.indexes ?? []) {
          if (existing.has(index.name)) continue;
          await client.send(
            new UpdateTableCommand({
              TableName: tableName,
              AttributeDefinitions: [...attributes.values()],
              GlobalSecondaryIndexUpdates: [
                {
                  Create: {
                    IndexName: index.name,
                    KeySchema: [
                      { AttributeName: index.partitionKey.name, KeyType: 'HASH' },
                      ...(index.sortKey ? [{ AttributeName: index.sortKey.name, KeyType: 'RANGE' as const }] : []),
                    ],
                    Projection: { ProjectionType: index.projection ?? 'ALL' },
                  },
                },
              ],
            }),
          );
        }
      }
    }),
  );
  return created;
}
