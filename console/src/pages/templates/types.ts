/** Templates as the API stores and answers them (shared/templates/template.ts, not bundled: it pulls Handlebars). */
export interface EmailDraft {
  channel: 'email';
  name: string;
  subject: string;
  html: string;
  text: string;
}
export interface SmsDraft {
  channel: 'sms';
  name: string;
  body: string;
}
export type SavedTemplate = (EmailDraft | SmsDraft) & { id: string; createdAt: string; version: number };

/** What POST /v1/templates/render and /v1/templates/{id}/render answer. */
export type Rendered =
  | { channel: 'email'; preview: true; subject: string; html: string; text: string; addedFooter: boolean }
  | { channel: 'sms'; preview: true; body: string; segments: { encoding: string; segments: number; characters?: number }; addedOptOut: boolean };
