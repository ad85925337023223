import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { localClock } from './clock.ts';
import { exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type JWK, type JWTPayload, type CryptoKey } from 'jose';

/**
 * The local runtime's stand-in for API Gateway's JWT authorizer and for the identity provider:
 * it signs a dev token with an ES256 key and verifies bearer tokens the way the authorizer does
 * (signature, issuer, audience, expiry, not-before).
 */
export const LOCAL_ISSUER = 'https://touchloop.local/idp';
export const LOCAL_AUDIENCE = 'touchloop-api';

export interface LocalAuth {
  issuer: string;
  audience: string;
  publicJwk: JWK;
  mintToken(claims?: JWTPayload & { sub?: string }, expiresIn?: string): Promise<string>;
  /** Claims of a valid token, or undefined for a missing/invalid/expired one. */
  verify(authorization: string | undefined): Promise<Record<string, unknown> | undefined>;
}

interface StoredKeys {
  privateJwk: JWK;
  publicJwk: JWK;
}

/** Creates the signer; with a state directory the key pair is kept there so tokens survive restarts. */
export async function createLocalAuth(stateDir?: string): Promise<LocalAuth> {
  let keys: StoredKeys | undefined;
  const keyFile = stateDir ? path.join(stateDir, 'dev-jwk.json') : undefined;
  if (keyFile && existsSync(keyFile)) {
    try {
      keys = JSON.parse(readFileSync(keyFile, 'utf8')) as StoredKeys;
    } catch {
      keys = undefined; // unreadable: make a new pair
    }
  }
  if (!keys) {
    const pair = await generateKeyPair('ES256', { extractable: true });
    keys = { privateJwk: await exportJWK(pair.privateKey), publicJwk: await exportJWK(pair.publicKey) };
    if (keyFile) {
      mkdirSync(path.dirname(keyFile), { recursive: true });
      writeFileSync(keyFile, JSON.stringify(keys), { mode: 0o600 });
    }
  }
  const kid = 'touchloop-local-1';
  const privateKey = (await importJWK(keys.privateJwk, 'ES256')) as CryptoKey;
  const publicKey = (await importJWK(keys.publicJwk, 'ES256')) as CryptoKey;
  return {
    issuer: LOCAL_ISSUER,
    audience: LOCAL_AUDIENCE,
    publicJwk: { ...keys.publicJwk, kid, alg: 'ES256', use: 'sig' },
    async mintToken(claims = {}, expiresIn = '12h') {
      return new SignJWT({ scope: 'touchloop/api', ...claims })
        .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
        .setSubject(claims.sub ?? 'local-marketer')
        .setIssuer(claims.iss ?? LOCAL_ISSUER)
        .setAudience(claims.aud ?? LOCAL_AUDIENCE)
        .setIssuedAt()
        .setExpirationTime(expiresIn)
        .sign(privateKey);
    },
    async verify(authorization) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
      if (!match) return undefined;
      try {
        const { payload } = await jwtVerify(match[1]!, publicKey, {
          issuer: LOCAL_ISSUER,
          audience: LOCAL_AUDIENCE,
          algorithms: ['ES256'],
          requiredClaims: ['exp'],
          // Judged by real time: moving the runtime's clock forward (infra/local/clock.ts) must not sign the developer out.
          currentDate: localClock.realNow(),
        });
        return payload as Record<string, unknown>;
      } catch {
        return undefined;
      }
    },
  };
}
