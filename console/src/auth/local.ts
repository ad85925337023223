import type { Auth, Session } from './auth.ts';

const KEY = 'touchloop.session';
const SIGNED_OUT = 'touchloop.signedOut';

/**
 * The local runtime's dev identity: `POST /_local/console/session` on the console's own origin
 * mints a token for local-marketer. Only the loopback console server answers it; on AWS the
 * console uses OIDC instead.
 */
export function localAuth(): Auth {
  const read = (): Session | undefined => {
    try {
      const s = JSON.parse(sessionStorage.getItem(KEY) ?? 'null') as Session | null;
      return s && s.expiresAt > Date.now() ? s : undefined;
    } catch {
      return undefined;
    }
  };
  const mint = async (): Promise<Session> => {
    const ttl = Number(new URLSearchParams(location.search).get('ttl') ?? '') || undefined;
    const res = await fetch('/_local/console/session', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(ttl ? { ttlSeconds: ttl } : {}),
    });
    if (!res.ok) throw new Error(`could not start a local session (HTTP ${res.status})`);
    const body = (await res.json()) as { token: string; expiresAt: string; subject: string; email?: string };
    const session: Session = { token: body.token, expiresAt: Date.parse(body.expiresAt), subject: body.subject, email: body.email };
    sessionStorage.setItem(KEY, JSON.stringify(session));
    localStorage.removeItem(SIGNED_OUT);
    return session;
  };
  return {
    mode: 'local',
    async restore() {
      // First visit: sign in as the dev identity at once; after "Sign out", wait for the button.
      return read() ?? (localStorage.getItem(SIGNED_OUT) ? undefined : mint());
    },
    signIn: () => mint(),
    async signOut() {
      sessionStorage.removeItem(KEY);
      localStorage.setItem(SIGNED_OUT, '1');
    },
  };
}
