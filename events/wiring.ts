/**
 * The environment contract between the two engines (CDK stack, local runtime) and the handlers:
 * the name of the variable that carries each table's name and each queue's URL.
 */
/** `contactLookups` → `CONTACT_LOOKUPS`: the env-var suffix for a resource name. */
export function envSuffix(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .toUpperCase();
}

export const tableEnvVar = (table: string): string => `TABLE_${envSuffix(table)}`;
export const bucketEnvVar = (bucket: string): string => `BUCKET_${envSuffix(bucket)}`;
export const queueEnvVar = (queue: string): string => `QUEUE_URL_${envSuffix(queue)}`;
