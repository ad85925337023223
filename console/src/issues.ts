import type { ValidationIssue } from './contracts.ts';

/**
 * The API's issues at `path` or below it (`schedule` also matches `schedule.at` and
 * `variants` matches `variants[0].name`): one rule for fields, dialogs and error objects.
 */
export const issuesAt = (issues: readonly ValidationIssue[] | undefined, path: string): ValidationIssue[] =>
  (issues ?? []).filter((i) => i.path === path || i.path.startsWith(`${path}.`) || i.path.startsWith(`${path}[`));
