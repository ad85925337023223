import type { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, NoSuchKey, NotFound, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';

// An endpoint override (the local runtime, LocalStack) serves buckets by path, not by host name.
// Checksums only where S3 requires one: by default the SDK would sign a CRC32 of the (empty)
// body into a presigned PUT URL, and S3 would then refuse every upload whose content differs.
const client = new S3Client({ forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL), requestChecksumCalculation: 'WHEN_REQUIRED' });

export interface PresignedRequest {
  url: string;
  method: 'PUT' | 'GET';
  /** Headers the request must carry exactly as given (they are part of the signature). */
  headers: Record<string, string>;
  expiresAt: string;
}

const isMissing = (error: unknown): boolean =>
  error instanceof NoSuchKey || error instanceof NotFound || (error instanceof S3ServiceException && (error.$metadata.httpStatusCode === 404 || error.name === 'NoSuchKey'));

/** One bucket's objects: uploads through presigned URLs, reads in byte ranges, small writes. */
export class ObjectStore {
  constructor(
    readonly bucket: string,
    private readonly s3: S3Client = client,
  ) {}

  /** A URL anyone holding it may PUT one object to, until it expires; the content type is signed. */
  async presignPut(key: string, contentType: string, expiresInSeconds: number): Promise<PresignedRequest> {
    const url = await getSignedUrl(this.s3, new PutObjectCommand({ Bucket: this.bucket, Key: key, ContentType: contentType }), { expiresIn: expiresInSeconds, signableHeaders: new Set(['content-type']) });
    return { url, method: 'PUT', headers: { 'content-type': contentType }, expiresAt: new Date(Date.now() + expiresInSeconds * 1000).toISOString() };
  }

  /** A URL to download one object until it expires, saved under `filename`. */
  async presignGet(key: string, filename: string, expiresInSeconds: number): Promise<PresignedRequest> {
    const url = await getSignedUrl(this.s3, new GetObjectCommand({ Bucket: this.bucket, Key: key, ResponseContentDisposition: `attachment; filename="${filename.replace(/[^\w.-]/g, '_')}"` }), { expiresIn: expiresInSeconds });
    return { url, method: 'GET', headers: {}, expiresAt: new Date(Date.now() + expiresInSeconds * 1000).toISOString() };
  }

  async put(key: string, body: string | Uint8Array, contentType: string): Promise<void> {
    await this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: contentType }));
  }

  /** The object's size and content type, or undefined when there is none. */
  async head(key: string): Promise<{ size: number; contentType?: string } | undefined> {
    try {
      const out = await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { size: out.ContentLength ?? 0, ...(out.ContentType ? { contentType: out.ContentType } : {}) };
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  /** Bytes [start, end] (inclusive) of an object, or all of it; undefined when there is no such object. */
  async read(key: string, range?: { start: number; end: number }): Promise<Buffer | undefined> {
    try {
      const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) }));
      return Buffer.from(await out.Body!.transformToByteArray());
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  /** The object as a stream of bytes (large files are read once, front to back). */
  async stream(key: string): Promise<Readable | undefined> {
    try {
      const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return out.Body as Readable;
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }
}
