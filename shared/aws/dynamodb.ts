import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * One DynamoDB document client per process, created at module scope. The endpoint comes from
 * the standard AWS variables (AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL), which is how the
 * local runtime points it at DynamoDB Local.
 */
export const dynamodbClient = new DynamoDBClient({});
export const documentClient = DynamoDBDocumentClient.from(dynamodbClient, {
  marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
});
