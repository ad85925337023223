import { describe, expect, test } from 'vitest';
import { partitionRows, planChunks, SplitError, type SplitOptions } from '../../shared/imports/split.ts';

/** The file as a stream cut into pieces of `size` bytes (boundaries fall anywhere, mid-row and mid-character). */
async function* pieces(text: string | Buffer, size: number): AsyncGenerator<Uint8Array> {
  const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8');
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

const options = (over: Partial<SplitOptions> = {}): SplitOptions => ({ format: 'csv', header: true, maxRows: 1000, chunkRows: 2, chunkBytes: 1 << 20, maxRowBytes: 1 << 16, ...over });

/** Each chunk's text and the rows a processor would see in it. */
const texts = (file: string, plan: Awaited<ReturnType<typeof planChunks>>) => plan.chunks.map((c) => Buffer.from(file, 'utf8').subarray(c.start, c.end + 1).toString('utf8'));

describe('planChunks', () => {
  test('cuts whole CSV rows, keeps quoted line breaks inside their row, and numbers lines as the file does', async () => {
    const file = 'email,notes\na@x.org,"one\ntwo"\n\nb@x.org,plain\nc@x.org,"say ""hi"""\n';
    for (const size of [1, 3, 7, 1000]) {
      const plan = await planChunks(pieces(file, size), options());
      expect(plan.header).toBe('email,notes');
      expect(plan.rows).toBe(3);
      expect(plan.chunks.map((c) => ({ firstLine: c.firstLine, rows: c.rows }))).toEqual([
        { firstLine: 2, rows: 2 },
        { firstLine: 6, rows: 1 },
      ]);
      expect(texts(file, plan)).toEqual(['a@x.org,"one\ntwo"\n\nb@x.org,plain\n', 'c@x.org,"say ""hi"""\n']);
    }
  });

  test('NDJSON: every line break ends a row, quotes are data; a last row without a line break counts', async () => {
    const file = '{"email":"a@x.org","note":"\\"q"}\n{"email":"b@x.org"}\n{"email":"c@x.org"}';
    const plan = await planChunks(pieces(file, 5), options({ format: 'ndjson', header: false }));
    expect(plan.header).toBeUndefined();
    expect(plan.rows).toBe(3);
    expect(texts(file, plan)).toEqual(['{"email":"a@x.org","note":"\\"q"}\n{"email":"b@x.org"}\n', '{"email":"c@x.org"}']);
    expect(plan.chunks.map((c) => c.firstLine)).toEqual([1, 3]);
  });

  test('a byte-order mark and CRLF line ends do not reach the header; blank lines before the header are skipped', async () => {
    const file = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('\r\nemail\r\na@x.org\r\n')]);
    const plan = await planChunks(pieces(file, 2), options());
    expect(plan.header).toBe('email');
    expect(plan.chunks).toEqual([{ index: 0, start: 12, end: 20, firstLine: 3, rows: 1 }]);
  });

  test('chunks close on bytes as well as rows; a header-only file has no chunks', async () => {
    const file = `h\n${'x'.repeat(50)}\n${'y'.repeat(50)}\nz\n`;
    const plan = await planChunks(pieces(file, 16), options({ chunkRows: 100, chunkBytes: 40 }));
    expect(plan.chunks.map((c) => c.rows)).toEqual([1, 1, 1]);
    expect((await planChunks(pieces('email\n', 4), options())).chunks).toEqual([]);
  });

  test('refuses more rows than the limit, an unclosed quote, and an empty file', async () => {
    await expect(planChunks(pieces('h\n1\n2\n3\n', 3), options({ maxRows: 2 }))).rejects.toMatchObject({ code: 'too_many_rows' });
    await expect(planChunks(pieces(`h\n"open\n${'a\n'.repeat(100)}`, 8), options({ maxRowBytes: 64 }))).rejects.toMatchObject({ code: 'row_too_long' });
    await expect(planChunks(pieces('\n \n', 2), options())).rejects.toBeInstanceOf(SplitError);
    await expect(planChunks(pieces('', 2), options({ format: 'ndjson', header: false }))).rejects.toMatchObject({ code: 'empty_file' });
  });
});

describe('partitionRows', () => {
  test('rows of one key land in one partition with their file lines; blank lines are dropped', async () => {
    const rows = ['u1 a', 'u2 a', '', 'u1 b', 'u3 a', 'u2 b', 'u1 c'];
    const { partitions, rows: count } = await partitionRows(pieces(rows.join('\n'), 3), (row) => row.split(' ')[0], { maxRows: 100, chunkRows: 2, header: false });
    expect(count).toBe(6);
    for (const user of ['u1', 'u2', 'u3']) expect(partitions.filter((p) => p.text.some((r) => r.startsWith(user)))).toHaveLength(1);
    const all = partitions.flatMap((p) => p.lines.map((line, i) => [line, p.text[i]]));
    expect(new Map(all as Array<[number, string]>)).toEqual(new Map(rows.map((r, i) => [i + 1, r] as [number, string]).filter(([, r]) => r !== '')));
  });

  test('with a header: the first line is not a row, and the key function sees it', async () => {
    const seen: Array<string | undefined> = [];
    const out = await partitionRows(pieces('\nid,name\n1,a\n2,b\n', 4), (row, header) => (seen.push(header), row.split(',')[0]), { maxRows: 10, chunkRows: 1, header: true });
    expect(out.header).toBe('id,name');
    expect(out.rows).toBe(2);
    expect(seen).toEqual(['id,name', 'id,name']);
    expect(out.partitions.flatMap((p) => p.lines).sort()).toEqual([3, 4]);
  });
});
