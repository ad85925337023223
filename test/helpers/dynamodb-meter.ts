import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Units {
  read: number;
  write: number;
  requests: Record<string, number>;
  /** Write units by table (as DynamoDB reports them per table), so a flow's own writes can be told from its consumers'. */
  writeUnitsByTable: Record<string, number>;
  /** Items written by requests DynamoDB accepted, by table (a refused conditional write or cancelled transaction writes none). */
  writesByTable: Record<string, number>;
}

const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);
const READS = new Set(['GetItem', 'Query', 'Scan', 'BatchGetItem', 'TransactGetItems']);

/**
 * DynamoDB charges a read for a key that holds no item (0.5 unit, 1 if strongly consistent);
 * DynamoDB Local reports nothing for it, so the meter adds those.
 */
function missedReads(operation: string, request: Record<string, unknown>, response: Record<string, unknown>): number {
  if (operation === 'GetItem') return response.Item ? 0 : request.ConsistentRead ? 1 : 0.5;
  if (operation !== 'BatchGetItem') return 0;
  const asked = (request.RequestItems ?? {}) as Record<string, { Keys: unknown[]; ConsistentRead?: boolean }>;
  const got = (response.Responses ?? {}) as Record<string, unknown[]>;
  const left = (response.UnprocessedKeys ?? {}) as Record<string, { Keys: unknown[] }>;
  return Object.entries(asked).reduce((sum, [table, { Keys, ConsistentRead }]) => sum + Math.max(0, Keys.length - (got[table]?.length ?? 0) - (left[table]?.Keys.length ?? 0)) * (ConsistentRead ? 1 : 0.5), 0);
}

type AttributeValue = { S?: string; N?: string; B?: string; BOOL?: boolean; NULL?: boolean; M?: Record<string, AttributeValue>; L?: AttributeValue[]; SS?: string[]; NS?: string[]; BS?: string[] };

/** An attribute value's size as DynamoDB counts it (UTF-8 bytes of strings, about half a byte per digit of numbers, 3 bytes and 1 per element for maps and lists). */
function valueSize(value: AttributeValue): number {
  if (value.S !== undefined) return Buffer.byteLength(value.S);
  if (value.N !== undefined) return Math.ceil(value.N.replace(/^-|\./g, '').length / 2) + 1;
  if (value.B !== undefined) return Math.ceil((value.B.length * 3) / 4);
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.M) return 3 + Object.entries(value.M).reduce((sum, [name, v]) => sum + Buffer.byteLength(name) + valueSize(v) + 1, 0);
  if (value.L) return 3 + value.L.reduce((sum, v) => sum + valueSize(v) + 1, 0);
  if (value.SS) return value.SS.reduce((sum, v) => sum + Buffer.byteLength(v), 0);
  if (value.NS) return value.NS.reduce((sum, v) => sum + Math.ceil(v.length / 2) + 1, 0);
  if (value.BS) return value.BS.reduce((sum, v) => sum + Math.ceil((v.length * 3) / 4), 0);
  return 0;
}

/**
 * Write units of a TransactWriteItems call as DynamoDB bills it: two per item and started KB
 * (puts by their item's size; updates, deletes and condition checks counted as one KB, which the
 * small items they touch here are). DynamoDB Local reports two units per table instead, whatever
 * the number of items, so the meter computes this itself; by table.
 */
function transactionUnits(request: Record<string, unknown>): Map<string, number> {
  const units = new Map<string, number>();
  for (const item of (request.TransactItems ?? []) as Array<Record<string, { TableName?: string; Item?: Record<string, AttributeValue> } | undefined>>) {
    const write = item.Put ?? item.Update ?? item.Delete ?? item.ConditionCheck;
    if (!write?.TableName) continue;
    const bytes = item.Put?.Item ? Object.entries(item.Put.Item).reduce((sum, [name, v]) => sum + Buffer.byteLength(name) + valueSize(v), 0) : 1;
    units.set(write.TableName, (units.get(write.TableName) ?? 0) + 2 * Math.max(1, Math.ceil(bytes / 1024)));
  }
  return units;
}

/** The tables a write request writes items to, with how many items each. */
function writtenTables(operation: string, request: Record<string, unknown>, response: Record<string, unknown>): Array<[string, number]> {
  if (operation === 'PutItem' || operation === 'UpdateItem' || operation === 'DeleteItem') return [[String(request.TableName), 1]];
  if (operation === 'BatchWriteItem') {
    const left = (response.UnprocessedItems ?? {}) as Record<string, unknown[]>;
    return Object.entries((request.RequestItems ?? {}) as Record<string, unknown[]>).map(([table, items]) => [table, items.length - (left[table]?.length ?? 0)]);
  }
  if (operation === 'TransactWriteItems') {
    return ((request.TransactItems ?? []) as Array<Record<string, { TableName?: string } | undefined>>).flatMap((item) => {
      const write = item.Put ?? item.Update ?? item.Delete;
      return write?.TableName ? [[write.TableName, 1] as [string, number]] : [];
    });
  }
  return [];
}

/**
 * A pass-through proxy in front of DynamoDB Local that asks for ReturnConsumedCapacity on every
 * read and write and adds up the capacity units DynamoDB reports, by operation: the benchmark's
 * measure of what the same requests would cost on AWS. It also counts the items each table had
 * written, so a test can tell whether a request wrote anything at all.
 */
export class DynamoDbMeter {
  readonly units: Units = { read: 0, write: 0, requests: {}, writeUnitsByTable: {}, writesByTable: {} };
  /**
   * Fault injection: when it returns true for a request, the proxy answers as DynamoDB does when
   * it fails internally (HTTP 500), without passing the request on — a crash or outage at that point.
   */
  fault: ((operation: string, request: Record<string, unknown>) => boolean) | undefined;
  private server: Server | undefined;

  constructor(private readonly target: string) {}

  reset(): void {
    this.units.read = 0;
    this.units.write = 0;
    this.units.requests = {};
    this.units.writeUnitsByTable = {};
    this.units.writesByTable = {};
  }

  async start(): Promise<string> {
    const target = new URL(this.target);
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
        let body = Buffer.concat(chunks);
        let requestJson: Record<string, unknown> = {};
        if (WRITES.has(operation) || READS.has(operation)) {
          requestJson = JSON.parse(body.toString('utf8') || '{}') as Record<string, unknown>;
          body = Buffer.from(JSON.stringify({ ...requestJson, ReturnConsumedCapacity: 'TOTAL' }));
        }
        this.units.requests[operation] = (this.units.requests[operation] ?? 0) + 1;
        if (this.fault?.(operation, requestJson)) {
          const failure = JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: 'injected fault' });
          res.writeHead(500, { 'content-type': 'application/x-amz-json-1.0', 'content-length': Buffer.byteLength(failure) }).end(failure);
          return;
        }
        // DynamoDB Local does not check signatures, so the rewritten body can keep the original headers.
        const headers = { ...req.headers, 'content-length': String(body.length), host: target.host };
        const upstream = request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers }, (response) => {
          const out: Buffer[] = [];
          response.on('data', (c: Buffer) => out.push(c));
          response.on('end', () => {
            const payload = Buffer.concat(out);
            try {
              const parsed = JSON.parse(payload.toString('utf8') || '{}') as { ConsumedCapacity?: { CapacityUnits?: number; TableName?: string } | Array<{ CapacityUnits?: number; TableName?: string }> } & Record<string, unknown>;
              const capacity =
                operation === 'TransactWriteItems' && response.statusCode === 200
                  ? [...transactionUnits(requestJson)].map(([TableName, CapacityUnits]) => ({ TableName, CapacityUnits }))
                  : [parsed.ConsumedCapacity ?? []].flat();
              const consumed = capacity.reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0) + missedReads(operation, requestJson, parsed);
              if (WRITES.has(operation)) {
                this.units.write += consumed;
                for (const c of capacity) if (c.TableName) this.units.writeUnitsByTable[c.TableName] = (this.units.writeUnitsByTable[c.TableName] ?? 0) + (c.CapacityUnits ?? 0);
              }
              if (WRITES.has(operation) && response.statusCode === 200) {
                for (const [table, items] of writtenTables(operation, requestJson, parsed)) this.units.writesByTable[table] = (this.units.writesByTable[table] ?? 0) + items;
              }
              if (READS.has(operation)) this.units.read += consumed;
            } catch {
              // not JSON: nothing to count
            }
            res.writeHead(response.statusCode ?? 500, response.headers).end(payload);
          });
        });
        upstream.on('error', (error) => res.writeHead(502).end(String(error)));
        upstream.end(body);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
