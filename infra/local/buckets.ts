import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { LOCAL_REGION } from './lambda.ts';

/** S3's own limit for one PUT. */
const MAX_PUT_BYTES = 5 * 1024 ** 3;

export interface LocalBucketOptions {
  /** The bucket's name (the first segment of a path-style URL). */
  name: string;
  /** Where its objects live on disk, one file per key. */
  dir: string;
  expireAfterDays: number;
  /** Called after an object is written under a notifying prefix, with the S3 event notification. */
  notify?: { prefix: string; deliver: (event: string) => void };
}

interface StoredMeta {
  size: number;
  etag: string;
  contentType: string;
  modified: Date;
}

/**
 * One S3 bucket on disk, served path-style by the local AWS endpoint (PUT, GET with Range,
 * HEAD, DELETE; presigned URLs must not have expired) and announcing new objects like an S3
 * event notification to SQS. Keys map to files under the bucket's directory (percent-encoded,
 * so no key can reach outside it). Objects older than the bucket's lifecycle are removed at start.
 */
export class LocalBucket {
  readonly name: string;
  private readonly dir: string;
  private readonly meta = new Map<string, StoredMeta>();

  constructor(private readonly options: LocalBucketOptions) {
    this.name = options.name;
    this.dir = options.dir;
    mkdirSync(this.dir, { recursive: true });
    this.expire();
  }

  private fileFor(key: string): string {
    return path.join(this.dir, encodeURIComponent(key));
  }

  /** Lifecycle expiration: what is older than expireAfterDays goes. */
  private expire(): void {
    const cutoff = Date.now() - this.options.expireAfterDays * 86_400_000;
    for (const file of readdirSync(this.dir)) {
      const full = path.join(this.dir, file);
      if (statSync(full).mtimeMs < cutoff) rmSync(full, { force: true });
    }
  }

  private stat(key: string): StoredMeta | undefined {
    const known = this.meta.get(key);
    if (known) return known;
    try {
      const s = statSync(this.fileFor(key));
      const found = { size: s.size, etag: `"${s.mtimeMs.toString(16)}-${s.size.toString(16)}"`, contentType: 'application/octet-stream', modified: s.mtime };
      this.meta.set(key, found);
      return found;
    } catch {
      return undefined;
    }
  }

  /** Serves one S3 REST request for this bucket; `key` is the decoded object key. */
  async serve(req: IncomingMessage, res: ServerResponse, key: string, url: URL, count: (operation: string) => void): Promise<void> {
    const method = req.method ?? 'GET';
    const expired = presignExpired(url);
    if (expired) return s3Error(res, 403, 'AccessDenied', expired);
    if (!key) return s3Error(res, 400, 'InvalidRequest', 'Only object requests are served by the local S3 (path-style /<bucket>/<key>)');
    switch (method) {
      case 'PUT':
        count('S3.PutObject');
        return this.put(req, res, key);
      case 'GET':
      case 'HEAD':
        count(method === 'GET' ? 'S3.GetObject' : 'S3.HeadObject');
        return this.get(req, res, key, method === 'HEAD', url);
      case 'DELETE':
        count('S3.DeleteObject');
        rmSync(this.fileFor(key), { force: true });
        this.meta.delete(key);
        res.writeHead(204).end();
        return;
      default:
        return s3Error(res, 405, 'MethodNotAllowed', `${method} is not supported locally`);
    }
  }

  private async put(req: IncomingMessage, res: ServerResponse, key: string): Promise<void> {
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > MAX_PUT_BYTES) return s3Error(res, 400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size');
    const target = this.fileFor(key);
    const temp = `${target}.${randomBytes(6).toString('hex')}.part`;
    const hash = createHash('md5');
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      size += chunk.length;
    });
    await pipeline(req, createWriteStream(temp));
    renameSync(temp, target);
    const etag = `"${hash.digest('hex')}"`;
    const contentType = String(req.headers['content-type'] ?? 'application/octet-stream');
    this.meta.set(key, { size, etag, contentType, modified: new Date() });
    res.writeHead(200, { etag, 'x-amz-request-id': randomBytes(8).toString('hex') }).end();
    const notify = this.options.notify;
    if (notify && key.startsWith(notify.prefix)) notify.deliver(JSON.stringify(objectCreatedEvent(this.name, key, size, etag)));
  }

  private async get(req: IncomingMessage, res: ServerResponse, key: string, headOnly: boolean, url: URL): Promise<void> {
    const meta = this.stat(key);
    if (!meta) {
      if (headOnly) return void res.writeHead(404).end();
      return s3Error(res, 404, 'NoSuchKey', 'The specified key does not exist.');
    }
    const headers: Record<string, string | number> = {
      etag: meta.etag,
      'content-type': meta.contentType,
      'last-modified': meta.modified.toUTCString(),
      'accept-ranges': 'bytes',
    };
    const disposition = url.searchParams.get('response-content-disposition');
    if (disposition) headers['content-disposition'] = disposition;
    const range = /^bytes=(\d+)-(\d*)$/.exec(String(req.headers.range ?? ''));
    let start = 0;
    let end = meta.size - 1;
    let status = 200;
    if (range) {
      start = Number(range[1]);
      end = range[2] ? Math.min(Number(range[2]), meta.size - 1) : meta.size - 1;
      if (start >= meta.size || start > end) return s3Error(res, 416, 'InvalidRange', 'The requested range is not satisfiable');
      status = 206;
      headers['content-range'] = `bytes ${start}-${end}/${meta.size}`;
    }
    headers['content-length'] = meta.size === 0 ? 0 : end - start + 1;
    res.writeHead(status, headers);
    if (headOnly || meta.size === 0) return void res.end();
    await pipeline(createReadStream(this.fileFor(key), { start, end }), res);
  }
}

/** Why a presigned URL may no longer be used, or undefined (header-signed requests carry no expiry). */
function presignExpired(url: URL): string | undefined {
  const date = url.searchParams.get('X-Amz-Date');
  const expires = url.searchParams.get('X-Amz-Expires');
  if (!date && !expires) return undefined;
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(date ?? '');
  if (!m || !expires || !url.searchParams.get('X-Amz-Signature')) return 'Query-string authentication requires X-Amz-Date, X-Amz-Expires and X-Amz-Signature';
  const signedAt = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  return Date.now() > signedAt + Number(expires) * 1000 ? 'Request has expired' : undefined;
}

function s3Error(res: ServerResponse, status: number, code: string, message: string): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>${randomBytes(8).toString('hex')}</RequestId></Error>`;
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) }).end(body);
}

/** The notification S3 sends to SQS for a new object (event message structure version 2.1). */
function objectCreatedEvent(bucket: string, key: string, size: number, etag: string) {
  return {
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: LOCAL_REGION,
        eventTime: new Date().toISOString(),
        eventName: 'ObjectCreated:Put',
        s3: {
          s3SchemaVersion: '1.0',
          bucket: { name: bucket, arn: `arn:aws:s3:::${bucket}` },
          // S3 URL-encodes keys in notifications (a space becomes "+").
          object: { key: encodeURIComponent(key).replace(/%2F/g, '/').replace(/%20/g, '+'), size, eTag: etag.replace(/"/g, ''), sequencer: Date.now().toString(16).toUpperCase() },
        },
      },
    ],
  };
}
