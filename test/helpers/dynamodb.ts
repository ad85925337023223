import { startDynamoDbLocal, type DynamoDbLocal } from '../../infra/local/dynamodb-local.ts';

/**
 * A DynamoDB Local of the test file's own. Files do not share one: DynamoDB Local slows every
 * write to a table with a stream by the stream records of every other table in its database
 * (measured: 1,700 items/s with one streamed table of 3,000 records, 390 items/s with seven),
 * and deleting the tables does not free them, so a database shared by the whole run got slower
 * file by file until imports of a few thousand rows outran the CI's limit. Start-up takes about 2 s.
 */
export function startFileDynamoDb(): Promise<DynamoDbLocal> {
  return startDynamoDbLocal();
}
