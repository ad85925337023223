import { createHash, randomBytes } from 'node:crypto';
import { listen, readRequestBody, sendJson, type RunningServer } from '../../infra/local/http-util.ts';

/**
 * A stand-in OpenID Connect provider for the console's sign-in test, strict where Cognito is:
 * discovery, `/authorize` (signs the user in at once and redirects back with a code), `/token`
 * (authorization code with PKCE S256 only: a missing or wrong `code_verifier`, another redirect
 * URI or client, or a code used twice is refused) and `/logout`. Access tokens come from
 * `mintAccessToken`, so the local API gateway accepts them as it accepts the dev token.
 */
export interface StandInProvider {
  url: string;
  /** Every request, in order: `GET /authorize`, `POST /token` … */
  requests: Array<{ method: string; path: string; query: Record<string, string>; form?: Record<string, string> }>;
  /** Access tokens handed out, newest last. */
  issued: string[];
  stop(): Promise<void>;
}

export async function startStandInProvider(options: { clientId: string; user: { sub: string; email: string }; mintAccessToken: (claims: { sub: string; email: string }) => Promise<string> }): Promise<StandInProvider> {
  const codes = new Map<string, { challenge: string; redirectUri: string; clientId: string }>();
  const requests: StandInProvider['requests'] = [];
  const issued: string[] = [];
  let baseUrl = '';
  const base = () => baseUrl;
  const cors = (origin: string | undefined): Record<string, string> => (origin ? { 'access-control-allow-origin': origin, vary: 'Origin' } : {});
  const server: RunningServer = await listen(async (req, res) => {
    const url = new URL(req.url ?? '/', base());
    const query = Object.fromEntries(url.searchParams);
    const origin = req.headers.origin;
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { ...cors(origin), 'access-control-allow-methods': 'GET, POST', 'access-control-allow-headers': 'content-type, authorization' }).end();
      return;
    }
    if (url.pathname === '/.well-known/openid-configuration') {
      requests.push({ method: 'GET', path: url.pathname, query });
      return sendJson(res, 200, {
        issuer: base(),
        authorization_endpoint: `${base()}/authorize`,
        token_endpoint: `${base()}/token`,
        jwks_uri: `${base()}/jwks.json`,
        response_types_supported: ['code'],
        code_challenge_methods_supported: ['S256'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
      }, cors(origin));
    }
    if (url.pathname === '/authorize') {
      requests.push({ method: 'GET', path: url.pathname, query });
      if (query.client_id !== options.clientId || query.response_type !== 'code' || query.code_challenge_method !== 'S256' || !query.code_challenge || !query.redirect_uri) {
        return sendJson(res, 400, { error: 'invalid_request' });
      }
      const code = randomBytes(16).toString('hex');
      codes.set(code, { challenge: query.code_challenge, redirectUri: query.redirect_uri, clientId: query.client_id });
      const back = new URL(query.redirect_uri);
      back.searchParams.set('code', code);
      if (query.state) back.searchParams.set('state', query.state);
      res.writeHead(302, { location: back.toString() }).end();
      return;
    }
    if (url.pathname === '/token' && req.method === 'POST') {
      const form = Object.fromEntries(new URLSearchParams((await readRequestBody(req)).toString('utf8')));
      requests.push({ method: 'POST', path: url.pathname, query, form });
      const grant = codes.get(form.code ?? '');
      codes.delete(form.code ?? '');
      const verifierOk = grant && form.code_verifier && createHash('sha256').update(form.code_verifier).digest('base64url') === grant.challenge;
      if (form.grant_type !== 'authorization_code' || !grant || !verifierOk || form.redirect_uri !== grant.redirectUri || form.client_id !== grant.clientId) {
        return sendJson(res, 400, { error: 'invalid_grant' }, cors(origin));
      }
      const accessToken = await options.mintAccessToken(options.user);
      issued.push(accessToken);
      const now = Math.floor(Date.now() / 1000);
      const idToken = [{ alg: 'none', typ: 'JWT' }, { iss: base(), aud: options.clientId, sub: options.user.sub, email: options.user.email, iat: now, exp: now + 3600 }]
        .map((part) => Buffer.from(JSON.stringify(part)).toString('base64url'))
        .join('.')
        .concat('.');
      return sendJson(res, 200, { access_token: accessToken, id_token: idToken, token_type: 'Bearer', expires_in: 3600, scope: 'openid email profile' }, { ...cors(origin), 'cache-control': 'no-store' });
    }
    if (url.pathname === '/logout') {
      requests.push({ method: 'GET', path: url.pathname, query });
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>Signed out</title><h1>Signed out</h1>');
      return;
    }
    sendJson(res, 404, { error: 'not_found' });
  }, 0);
  baseUrl = server.url;
  return {
    url: baseUrl,
    requests,
    issued,
    stop: () => server.close(),
  };
}
