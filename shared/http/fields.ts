import { AppError, BadRequestError } from '../errors.ts';

/** Reads a urlencoded or JSON body into plain fields; anything else is refused. */
export function readFields(rawBody: string, contentType: string, options: { jsonAsText?: boolean } = {}): Record<string, unknown> {
  if (contentType.startsWith('application/x-www-form-urlencoded')) {
    const params = new URLSearchParams(rawBody);
    // Object.fromEntries defines own properties: a field named __proto__ stays a field (and is refused
    // as unknown) instead of being swallowed by the prototype setter of a plain assignment.
    return Object.fromEntries(
      [...new Set(params.keys())].map((key) => {
        const values = params.getAll(key);
        return [key, values.length > 1 ? values : (values[0] ?? '')];
      }),
    );
  }
  // navigator.sendBeacon with a string posts text/plain (no CORS preflight): read it as JSON when asked.
  if (contentType.includes('json') || (options.jsonAsText && contentType.startsWith('text/plain'))) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(rawBody);
    } catch {
      throw new BadRequestError('The request body is not valid JSON', 'invalid_json');
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new BadRequestError('The request body must be a JSON object', 'invalid_json');
    return parsed as Record<string, unknown>;
  }
  throw new AppError(415, 'unsupported_media_type', options.jsonAsText ? 'Send application/json, text/plain holding JSON, or application/x-www-form-urlencoded' : 'Send the form as application/x-www-form-urlencoded or application/json');
}
