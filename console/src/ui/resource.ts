import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api, type ApiError } from '../api.ts';

export interface Resource<T> {
  data: T | undefined;
  error: ApiError | Error | undefined;
  loading: boolean;
  refetch: () => void;
}

/**
 * GETs an API path (undefined: nothing yet), aborting the previous request when the path changes
 * and polling every `pollMs` while `poll` says so (a running campaign's counters).
 */
export function useResource<T>(path: string | undefined, options: { pollMs?: number; poll?: (data: T) => boolean; query?: Record<string, string | number | undefined> } = {}): Resource<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiError | Error | undefined>(undefined);
  const [loading, setLoading] = useState(Boolean(path));
  const [tick, setTick] = useState(0);
  const pollRef = useRef(options.poll);
  pollRef.current = options.poll;
  const queryKey = JSON.stringify(options.query ?? {});
  useEffect(() => {
    if (!path) return;
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    setLoading(true);
    api<T>(path, { signal: abort.signal, query: JSON.parse(queryKey) as Record<string, string> })
      .then((value) => {
        setData(value);
        setError(undefined);
        if (options.pollMs && (!pollRef.current || pollRef.current(value))) timer = setTimeout(() => setTick((n) => n + 1), options.pollMs);
      })
      .catch((e: unknown) => {
        if (abort.signal.aborted) return;
        setError(e as Error);
      })
      .finally(() => !abort.signal.aborted && setLoading(false));
    return () => {
      abort.abort();
      if (timer) clearTimeout(timer);
    };
  }, [path, tick, queryKey, options.pollMs]);
  const refetch = useCallback(() => setTick((n) => n + 1), []);
  return { data, error, loading, refetch };
}
