import { UserManager, WebStorageStateStore, type User } from 'oidc-client-ts';
import type { Auth, ConsoleConfig, Session } from './auth.ts';

type OidcSettings = Extract<ConsoleConfig['auth'], { mode: 'oidc' }>;

const CALLBACK = '/auth/callback';

/**
 * Sign-in with the stack's Cognito user pool (hosted sign-in) or the deployer's own IdP:
 * authorization code with PKCE (S256), tokens in sessionStorage, renewed silently with the
 * refresh token 60 s before they expire. The access token is what the API's JWT authorizer
 * checks. Sign-out clears the session and goes to the configured logout URL (Cognito's discovery
 * document has no end_session_endpoint), else to the IdP's end_session_endpoint.
 */
export async function oidcAuth(settings: OidcSettings): Promise<Auth> {
  const manager = new UserManager({
    authority: settings.authority,
    client_id: settings.clientId,
    redirect_uri: `${location.origin}${CALLBACK}`,
    post_logout_redirect_uri: `${location.origin}/`,
    response_type: 'code',
    scope: (settings.scopes?.length ? settings.scopes : ['openid', 'email', 'profile']).join(' '),
    userStore: new WebStorageStateStore({ store: sessionStorage }),
    automaticSilentRenew: true,
    accessTokenExpiringNotificationTimeInSeconds: 60,
  });
  const toSession = (user: User | null): Session | undefined =>
    user && !user.expired && user.access_token ? { token: user.access_token, expiresAt: (user.expires_at ?? 0) * 1000, subject: user.profile.sub, email: user.profile.email } : undefined;
  return {
    mode: 'oidc',
    async restore() {
      if (location.pathname === CALLBACK) {
        const user = await manager.signinRedirectCallback();
        const returnTo = typeof user.state === 'string' && user.state.startsWith('/') && !user.state.startsWith('//') ? user.state : '/';
        history.replaceState(null, '', returnTo);
        return toSession(user);
      }
      return toSession(await manager.getUser());
    },
    async signIn(returnTo) {
      await manager.signinRedirect({ state: returnTo });
      return undefined; // the page leaves for the IdP
    },
    onRenewed(listener) {
      manager.events.addUserLoaded((user) => {
        const session = toSession(user);
        if (session) listener(session);
      });
    },
    async signOut() {
      if (settings.logoutUrl) {
        // Cognito: its /logout (already naming the client and where to come back) ends the hosted session too.
        await manager.removeUser();
        location.assign(settings.logoutUrl);
      } else {
        // Other IdPs: their end_session_endpoint from discovery, coming back to the console.
        await manager.signoutRedirect().catch(() => manager.removeUser());
      }
    },
  };
}
