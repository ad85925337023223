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
/** PartiQL: DynamoDB Local reports no capacity for these; StatementMeter works it out. */
const STATEMENTS = new Set(['BatchExecuteStatement', 'ExecuteStatement']);

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

type AttributeValue = { S?: string; N?: string; B?: string; BOOL?: boolean; NULL?: boolean; M?: Record<string, AttributeValue>; L?: AttributeValue[]; SS?: string[]; NS?: string[]; BS?: string[] };

/** An attribute value's size as DynamoDB bills it (strings and binaries by bytes, numbers about a byte per two digits). */
function valueSize(value: AttributeValue): number {
  if (value.S !== undefined) return Buffer.byteLength(value.S);
  if (value.N !== undefined) return Math.ceil(value.N.replace(/^-|\.|e.*$/gi, '').length / 2) + 1;
  if (value.B !== undefined) return Buffer.from(value.B, 'base64').length;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.M) return 3 + Object.entries(value.M).reduce((sum, [name, v]) => sum + Buffer.byteLength(name) + 1 + valueSize(v), 0);
  if (value.L) return 3 + value.L.reduce((sum, v) => sum + 1 + valueSize(v), 0);
  if (value.SS) return value.SS.reduce((sum, v) => sum + Buffer.byteLength(v), 0);
  if (value.NS) return value.NS.reduce((sum, v) => sum + valueSize({ N: v }), 0);
  if (value.BS) return value.BS.reduce((sum, v) => sum + Buffer.from(v, 'base64').length, 0);
  return 0;
}

const itemSize = (item: Record<string, AttributeValue>): number => Object.entries(item).reduce((sum, [name, value]) => sum + Buffer.byteLength(name) + valueSize(value), 0);
const writeUnits = (bytes: number) => Math.max(1, Math.ceil(bytes / 1024));

/** The names each `?` of a statement stands beside (`"name" = ?` or `'name': ?`), in order; undefined where it is not such a pair. */
function placeholderNames(text: string): Array<string | undefined> {
  const names: Array<string | undefined> = [];
  for (let at = text.indexOf('?'); at >= 0; at = text.indexOf('?', at + 1)) {
    const before = /["']?([A-Za-z0-9_]+)["']?\s*[=:]\s*$/.exec(text.slice(Math.max(0, at - 300), at));
    names.push(before?.[1]);
  }
  return names;
}

/**
 * DynamoDB Local reports no consumed capacity for PartiQL statements, so the meter works out what
 * DynamoDB bills: a write statement a unit per started KB of the larger of the item before and
 * after (INSERT: the item given; UPDATE: the item as last seen plus what it sets, which over- rather
 * than under-counts), a refused one (condition, existing item) a unit as on AWS; a SELECT half a
 * unit (a unit if consistent) per started 4 KB of each item it returns.
 */
class StatementMeter {
  /** Item sizes last seen, by table and key, so an UPDATE is priced without reading the item. */
  private readonly sizes = new Map<string, number>();
  private readonly keySchemas = new Map<string, Promise<string[]>>();

  constructor(private readonly send: (operation: string, body: Record<string, unknown>) => Promise<Record<string, unknown>>) {}

  private keyNames(table: string): Promise<string[]> {
    let names = this.keySchemas.get(table);
    if (!names) {
      names = this.send('DescribeTable', { TableName: table }).then((r) => ((r.Table as { KeySchema?: Array<{ AttributeName: string }> } | undefined)?.KeySchema ?? []).map((k) => k.AttributeName));
      this.keySchemas.set(table, names);
    }
    return names;
  }

  async units(statements: Array<{ Statement: string; Parameters?: AttributeValue[]; ConsistentRead?: boolean }>, responses: Array<{ Error?: unknown; Item?: Record<string, AttributeValue> }>): Promise<{ read: number; write: number; written: Record<string, number> }> {
    const total = { read: 0, write: 0, written: {} as Record<string, number> };
    await Promise.all(
      statements.map(async (statement, i) => {
        const text = statement.Statement.trim();
        const verb = text.split(/\s+/)[0]!.toUpperCase();
        const table = /(?:INTO|FROM|UPDATE|DELETE\s+FROM)\s+"?([A-Za-z0-9_.-]+)"?/i.exec(text)?.[1] ?? '';
        const response = responses[i] ?? {};
        if (verb === 'SELECT') {
          if (response.Item) total.read += Math.max(1, Math.ceil(itemSize(response.Item) / 4096)) * (statement.ConsistentRead ? 1 : 0.5);
          return;
        }
        if (response.Error) {
          total.write += 1;
          return;
        }
        const params = statement.Parameters ?? [];
        const names = placeholderNames(text);
        const keyNames = await this.keyNames(table);
        const keyOf = (get: (name: string) => AttributeValue | undefined) => `${table}|${keyNames.map((n) => JSON.stringify(get(n) ?? null)).join('|')}`;
        const whereAt = text.search(/\sWHERE\s/i);
        const setCount = whereAt < 0 ? 0 : (text.slice(0, whereAt).match(/\?/g) ?? []).length;
        const param = (name: string, from = 0) => {
          const k = names.findIndex((n, j) => j >= from && n === name);
          return k >= 0 ? params[k] : undefined;
        };
        let before = 0;
        let after = 0;
        let key: string;
        if (verb === 'INSERT') {
          const item: Record<string, AttributeValue> = {};
          names.forEach((name, k) => name && params[k] && (item[name] = params[k]));
          after = itemSize(item);
          key = keyOf((n) => item[n]);
        } else {
          key = keyOf((n) => param(n, setCount));
          const known = this.sizes.get(key);
          if (known !== undefined) before = known;
          else {
            const got = await this.send('GetItem', { TableName: table, ConsistentRead: true, Key: Object.fromEntries(keyNames.map((n) => [n, param(n, setCount)])) });
            before = got.Item ? itemSize(got.Item as Record<string, AttributeValue>) : 0;
          }
          const sets = names.slice(0, setCount).reduce((sum, name, k) => sum + (name ? Buffer.byteLength(name) + valueSize(params[k] ?? {}) : 0), 0);
          after = verb === 'DELETE' ? 0 : before + sets + (text.match(/SET\s+"?[A-Za-z0-9_]+"?\s*=\s*'[^']*'/gi) ?? []).reduce((sum, literal) => sum + literal.length, 0);
        }
        this.sizes.set(key, after);
        total.write += writeUnits(Math.max(before, after));
        total.written[table] = (total.written[table] ?? 0) + 1;
      }),
    );
    return total;
  }
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
  private readonly statements = new StatementMeter((operation, body) => this.direct(operation, body));

  constructor(private readonly target: string) {}

  /** A request straight to DynamoDB Local, not metered (the meter's own look-ups). */
  private direct(operation: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const target = new URL(this.target);
    const payload = Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = request(
        { host: target.hostname, port: target.port, path: '/', method: 'POST', headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': `DynamoDB_20120810.${operation}`, authorization: 'AWS4-HMAC-SHA256 Credential=meter/20200101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0', 'content-length': String(payload.length) } },
        (response) => {
          const out: Buffer[] = [];
          response.on('data', (c: Buffer) => out.push(c));
          response.on('end', () => resolve(JSON.parse(Buffer.concat(out).toString('utf8') || '{}') as Record<string, unknown>));
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

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
        if (WRITES.has(operation) || READS.has(operation) || STATEMENTS.has(operation)) {
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
            if (STATEMENTS.has(operation) && response.statusCode === 200) {
              const parsed = JSON.parse(payload.toString('utf8') || '{}') as { Responses?: Array<{ Error?: unknown; Item?: Record<string, AttributeValue> }>; Items?: Array<Record<string, AttributeValue>> };
              const statements = (operation === 'BatchExecuteStatement' ? requestJson.Statements : [requestJson]) as Array<{ Statement: string; Parameters?: AttributeValue[]; ConsistentRead?: boolean }>;
              const responses = operation === 'BatchExecuteStatement' ? (parsed.Responses ?? []) : [{ Item: parsed.Items?.[0] }];
              this.statements
                .units(statements, responses)
                .then((units) => {
                  this.units.read += units.read;
                  this.units.write += units.write;
                  for (const [table, items] of Object.entries(units.written)) this.units.writesByTable[table] = (this.units.writesByTable[table] ?? 0) + items;
                })
                .catch(() => undefined)
                .finally(() => res.writeHead(response.statusCode ?? 500, response.headers).end(payload));
              return;
            }
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
