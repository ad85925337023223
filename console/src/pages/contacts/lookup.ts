/** What the marketer typed, as the API's lookup query: an email has an @, anything else is a phone. */
export function lookupQuery(term: string, country: string): Record<string, string> {
  const t = term.trim();
  if (t.includes('@')) return { email: t };
  return country.trim() ? { phone: t, country: country.trim() } : { phone: t };
}
