import path from 'node:path';

/** The repository root: function entries in the topology are relative to it. */
export const repoRoot = path.resolve(import.meta.dirname, '..');
