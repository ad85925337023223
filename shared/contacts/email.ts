export class InvalidEmailError extends Error {
  override name = 'InvalidEmailError';
}

// Local part: the dot-atom of RFC 5322 (what real mailboxes use; quoted local parts are refused).
const LOCAL_PART = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * Normalises an email address so that one person is one contact: trimmed, lower-cased, the
 * domain converted to punycode (IDN), the syntax checked. Plus-addressing is kept: a+news@x
 * and a@x are different mailboxes as far as the receiving server is concerned.
 */
export function normalizeEmail(input: string): string {
  const trimmed = input.trim();
  const at = trimmed.lastIndexOf('@');
  if (at <= 0 || at === trimmed.length - 1) throw new InvalidEmailError('must be an email address like name@example.com');
  const local = trimmed.slice(0, at).toLowerCase();
  const domainInput = trimmed.slice(at + 1).toLowerCase().replace(/\.$/, '');
  if (local.length > 64) throw new InvalidEmailError('the part before @ is longer than 64 characters');
  if (!LOCAL_PART.test(local)) throw new InvalidEmailError('the part before @ has characters an address cannot have');
  const domain = asciiDomain(domainInput);
  if (!domain) throw new InvalidEmailError('the domain is not valid');
  const labels = domain.split('.');
  if (labels.length < 2 || !labels.every((l) => LABEL.test(l)) || /^[0-9]+$/.test(labels[labels.length - 1]!)) {
    throw new InvalidEmailError('the domain is not valid');
  }
  const email = `${local}@${domain}`;
  if (email.length > 254) throw new InvalidEmailError('is longer than 254 characters');
  return email;
}

/**
 * The domain in ASCII (punycode), by the WHATWG URL parser's UTS 46 mapping: the same in Node and
 * in browsers (the console validates with this module). Undefined when the host is not valid or
 * is not a plain domain name (a URL would also accept ports, credentials or paths).
 */
function asciiDomain(domain: string): string | undefined {
  if (domain === '' || /[/?#@:\\\s%]/.test(domain)) return undefined;
  try {
    return new URL(`http://${domain}`).hostname || undefined;
  } catch {
    return undefined;
  }
}
