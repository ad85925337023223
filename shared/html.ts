/** HTML escaping for server-rendered pages. Every user- or marketer-provided string goes through one of these. */

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for element content. Quotes are escaped too, so the result is also safe inside quoted attributes. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}

/** Escapes a value for a double- or single-quoted attribute (always quote attributes when using it). */
export function escapeAttr(value: string): string {
  return escapeHtml(value);
}
