/** How the console gets the bearer token it sends to the API: the local dev identity or OIDC. */
export interface Session {
  token: string;
  /** Epoch milliseconds. */
  expiresAt: number;
  subject: string;
  email?: string;
}

export interface Auth {
  readonly mode: 'local' | 'oidc';
  /** The current session, completing a sign-in redirect if the page is one; undefined when signed out. */
  restore(): Promise<Session | undefined>;
  /** Signs in. Locally this mints a token in place; with OIDC it leaves the page for the IdP and returns to `returnTo`. */
  signIn(returnTo: string): Promise<Session | undefined>;
  signOut(): Promise<void>;
  /** Tokens renewed in the background (OIDC refresh) arrive here. */
  onRenewed?(listener: (session: Session) => void): void;
}

/** `/config.json`: infra/console/console.ts writes it on AWS, infra/local/console-server.ts serves it locally. */
export interface ConsoleConfig {
  /** '' when the API is on the console's own origin (always, as deployed). */
  apiUrl: string;
  auth:
    | { mode: 'local' }
    | {
        mode: 'oidc';
        /** The issuer; discovery at `<authority>/.well-known/openid-configuration`. */
        authority: string;
        clientId: string;
        scopes?: string[];
        /** Where "Sign out" goes after clearing the session, as is (Cognito's full /logout URL); absent: the IdP's end_session_endpoint. */
        logoutUrl?: string;
      };
}

/** Reads `/config.json` (written at deploy time on AWS, served by the runtime locally). */
export async function loadConfig(): Promise<ConsoleConfig> {
  const res = await fetch('/config.json', { cache: 'no-store' });
  if (!res.ok) throw new Error(`config.json: HTTP ${res.status}`);
  const config = (await res.json()) as ConsoleConfig;
  if (typeof config.apiUrl !== 'string' || !config.auth) throw new Error('config.json has no apiUrl or auth');
  return { ...config, apiUrl: config.apiUrl.replace(/\/+$/, '') };
}
