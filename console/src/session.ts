import { useEffect, useState } from 'preact/hooks';
import type { Auth, ConsoleConfig, Session } from './auth/auth.ts';

/**
 * The signed-in state shared by the shell and `api.ts`. When the API answers 401 the session is
 * marked expired: the shell shows "Your session ended — sign in again" over the page (which
 * stays mounted, so no form loses what was typed) and the request waits for the new token.
 */
type State = { status: 'loading' } | { status: 'signed-out' } | { status: 'signed-in'; session: Session } | { status: 'expired'; session: Session };

let state: State = { status: 'loading' };
let auth: Auth | undefined;
let config: ConsoleConfig | undefined;
const listeners = new Set<() => void>();
let waiters: Array<(session: Session | undefined) => void> = [];

function set(next: State): void {
  state = next;
  for (const l of listeners) l();
  if (next.status === 'signed-in' || next.status === 'signed-out') {
    const session = next.status === 'signed-in' ? next.session : undefined;
    const pending = waiters;
    waiters = [];
    for (const w of pending) w(session);
  }
}

export function useSession(): State {
  const [, force] = useState(0);
  useEffect(() => {
    const l = () => force((n) => n + 1);
    listeners.add(l);
    return () => void listeners.delete(l);
  }, []);
  return state;
}

export const currentConfig = (): ConsoleConfig => {
  if (!config) throw new Error('console not configured');
  return config;
};

export async function startSession(c: ConsoleConfig, a: Auth): Promise<void> {
  config = c;
  auth = a;
  a.onRenewed?.((session) => set({ status: 'signed-in', session }));
  try {
    const session = await a.restore();
    set(session ? { status: 'signed-in', session } : { status: 'signed-out' });
  } catch (error) {
    console.error(error);
    set({ status: 'signed-out' });
  }
}

export async function signIn(): Promise<void> {
  const session = await auth!.signIn(location.pathname + location.search);
  if (session) set({ status: 'signed-in', session });
}

export async function signOut(): Promise<void> {
  clearDrafts();
  await auth!.signOut();
  set({ status: 'signed-out' });
}

/** A token for a request, waiting while the session is expired until the marketer signs in again. */
export async function token(): Promise<string | undefined> {
  if (state.status === 'signed-in') {
    if (state.session.expiresAt > Date.now()) return state.session.token;
    set({ status: 'expired', session: state.session });
  }
  if (state.status === 'expired' || state.status === 'loading') {
    const session = await new Promise<Session | undefined>((resolve) => waiters.push(resolve));
    return session?.token;
  }
  return undefined;
}

/** Called by `api.ts` on a 401: the token the request used is no longer accepted. */
export function expired(usedToken: string | undefined): void {
  if (state.status === 'signed-in' && state.session.token === usedToken) set({ status: 'expired', session: state.session });
}

const DRAFT_PREFIX = 'touchloop.draft.';
export function clearDrafts(): void {
  for (const key of Object.keys(sessionStorage)) if (key.startsWith(DRAFT_PREFIX)) sessionStorage.removeItem(key);
}
export const draftKey = (key: string): string => DRAFT_PREFIX + key;
