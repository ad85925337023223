/**
 * Cutting an import file into chunks of whole rows, reading it once, front to back, without
 * holding it in memory: a row ends at a line break outside double quotes (CSV, RFC 4180 — a
 * quoted field may span lines) or at any line break (NDJSON). Blank lines are not rows (the
 * processors skip them too) but stay inside the chunks' byte ranges, so line numbers are exact.
 */
import type { ImportFileFormat } from './chunk.ts';

export interface ChunkPlan {
  index: number;
  /** Byte range of the chunk's text in the file, `end` inclusive. */
  start: number;
  end: number;
  /** File line number of the chunk's first line. */
  firstLine: number;
  rows: number;
}

export interface FilePlan {
  /** The first row when the kind has a header (CSV header, the campaign line of a history file). */
  header?: string;
  chunks: ChunkPlan[];
  rows: number;
}

export class SplitError extends Error {
  constructor(
    readonly code: 'too_many_rows' | 'empty_file' | 'header_too_long' | 'row_too_long',
    message: string,
  ) {
    super(message);
  }
}

export interface SplitOptions {
  format: ImportFileFormat;
  header: boolean;
  maxRows: number;
  /** A chunk closes once it holds this many rows or bytes, whichever comes first. */
  chunkRows: number;
  chunkBytes: number;
  /** A single row longer than this fails the file (a missing closing quote swallows the rest of a CSV). */
  maxRowBytes: number;
}

const NEWLINE = 0x0a;
const QUOTE = 0x22;
const BOM = [0xef, 0xbb, 0xbf];

/** Plans the chunks of a file read as a stream of byte buffers. */
export async function planChunks(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options: SplitOptions): Promise<FilePlan> {
  const chunks: ChunkPlan[] = [];
  let offset = 0; // bytes consumed so far
  let line = 1; // file line of the current position
  let inQuotes = false;
  let rowStart = 0;
  let rowLine = 1;
  let rowHasContent = false;
  let headerBytes: number[] | undefined = options.header ? [] : undefined;
  let header: string | undefined;
  let rows = 0;
  let chunk: ChunkPlan | undefined;

  const endRow = (endByte: number, nextLine: number) => {
    // The row spans [rowStart, endByte]; endByte is its line break (or the file's last byte).
    if (headerBytes !== undefined) {
      // Still looking for the header: a blank line before it is skipped.
      if (rowHasContent) {
        header = Buffer.from(headerBytes).toString('utf8').replace(/\r$/, '');
        headerBytes = undefined;
      } else headerBytes = [];
    } else if (rowHasContent || chunk) {
      if (!chunk) chunk = { index: chunks.length, start: rowStart, end: endByte, firstLine: rowLine, rows: 0 };
      chunk.end = endByte;
      if (rowHasContent) {
        chunk.rows++;
        rows++;
        if (rows > options.maxRows) throw new SplitError('too_many_rows', `the file has more than ${options.maxRows.toLocaleString('en-US')} rows`);
      }
      if (chunk.rows >= options.chunkRows || chunk.end - chunk.start + 1 >= options.chunkBytes) {
        chunks.push(chunk);
        chunk = undefined;
      }
    }
    if (endByte - rowStart + 1 > options.maxRowBytes) throw new SplitError('row_too_long', `the row at line ${rowLine} is longer than ${options.maxRowBytes} bytes${options.format === 'csv' ? ' (is a closing quote missing?)' : ''}`);
    rowStart = endByte + 1;
    rowLine = nextLine;
    rowHasContent = false;
  };

  let bomBytes = 0; // of a UTF-8 byte-order mark at the start, which is not data
  for await (const piece of source) {
    const bytes = piece;
    const base = offset;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]!;
      if (base + i === bomBytes && bomBytes < 3 && b === BOM[bomBytes]) {
        if (++bomBytes === 3) rowStart = 3;
        continue;
      }
      if (headerBytes !== undefined) {
        if (headerBytes.length > 65_536) throw new SplitError('header_too_long', 'the first line is longer than 64 KB');
        if (b !== NEWLINE || inQuotes) headerBytes.push(b);
      }
      if (b === NEWLINE) {
        line++;
        if (!inQuotes) endRow(base + i, line);
      } else if (b === QUOTE && options.format === 'csv') {
        inQuotes = !inQuotes;
        rowHasContent = true;
      } else if (b !== 0x0d && b !== 0x20 && b !== 0x09) {
        rowHasContent = true;
      }
    }
    offset = base + bytes.length;
    if (offset - rowStart > options.maxRowBytes) throw new SplitError('row_too_long', `the row at line ${rowLine} is longer than ${options.maxRowBytes} bytes${options.format === 'csv' ? ' (is a closing quote missing?)' : ''}`);
  }
  if (rowStart < offset) endRow(offset - 1, line + 1);
  if (chunk) chunks.push(chunk);
  if (options.header && header === undefined) throw new SplitError('empty_file', 'the file is empty');
  if (rows === 0 && !options.header) throw new SplitError('empty_file', 'the file has no rows');
  return { ...(header !== undefined ? { header } : {}), chunks, rows };
}

/**
 * Groups rows by a key so that all rows of one key land in the same chunk (one person's
 * endpoints in a Pinpoint export), keeping each row's file line. Rows are lines (no quoted line
 * breaks); with `header`, the first one is the header every chunk gets. Holds the file in memory.
 */
export async function partitionRows(
  source: AsyncIterable<Uint8Array>,
  keyOf: (row: string, header: string | undefined) => string | undefined,
  options: { maxRows: number; chunkRows: number; header: boolean },
): Promise<{ partitions: Array<{ lines: number[]; text: string[] }>; rows: number; header?: string }> {
  const rowsOut: Array<{ line: number; text: string; key: string | undefined }> = [];
  let header: string | undefined;
  let rest = '';
  let line = 0;
  const decoder = new TextDecoder('utf-8');
  const take = (text: string) => {
    line++;
    const trimmed = text.replace(/\r$/, '');
    if (trimmed.trim() === '') return;
    if (options.header && header === undefined) {
      header = trimmed;
      return;
    }
    if (rowsOut.length >= options.maxRows) throw new SplitError('too_many_rows', `the file has more than ${options.maxRows.toLocaleString('en-US')} rows`);
    rowsOut.push({ line, text: trimmed, key: keyOf(trimmed, header) });
  };
  for await (const piece of source) {
    const text = rest + decoder.decode(piece, { stream: true });
    const lines = text.split('\n');
    rest = lines.pop()!;
    for (const l of lines) take(line === 0 ? l.replace(/^\uFEFF/, '') : l);
  }
  rest += decoder.decode();
  if (rest !== '') take(line === 0 ? rest.replace(/^\uFEFF/, '') : rest);
  if (rowsOut.length === 0 && header === undefined) throw new SplitError('empty_file', 'the file has no rows');
  const count = Math.max(1, Math.ceil(rowsOut.length / options.chunkRows));
  const partitions = Array.from({ length: count }, () => ({ lines: [] as number[], text: [] as string[] }));
  for (const row of rowsOut) {
    // Rows without a key spread by line; rows with one go where their key's hash says.
    const slot = row.key === undefined ? row.line % count : fnv1a(row.key) % count;
    partitions[slot]!.lines.push(row.line);
    partitions[slot]!.text.push(row.text);
  }
  return { partitions: partitions.filter((p) => p.lines.length > 0), rows: rowsOut.length, ...(header !== undefined ? { header } : {}) };
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
