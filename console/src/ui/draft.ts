import { useEffect, useState } from 'preact/hooks';
import { draftKey } from '../session.ts';

/**
 * A form's state, mirrored into sessionStorage under `key` (route and entity), so a sign-in that
 * leaves the page (OIDC on AWS) comes back to the same form with what was typed. `clear` after a
 * successful save; signing out clears every draft.
 */
export function useDraft<T>(key: string, initial: T | (() => T)): [T, (next: T | ((prev: T) => T)) => void, () => void] {
  const storageKey = draftKey(key);
  const [value, setValue] = useState<T>(() => {
    const saved = sessionStorage.getItem(storageKey);
    if (saved) {
      try {
        return JSON.parse(saved) as T;
      } catch {
        sessionStorage.removeItem(storageKey);
      }
    }
    return typeof initial === 'function' ? (initial as () => T)() : initial;
  });
  useEffect(() => {
    sessionStorage.setItem(storageKey, JSON.stringify(value));
  }, [storageKey, value]);
  const clear = () => sessionStorage.removeItem(storageKey);
  return [value, setValue, clear];
}
