import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api.ts';
import { ErrorBox, Loading } from './page.tsx';

/**
 * The API's own report page (`…/report.html`: inline SVG, no scripts) shown inside the console:
 * fetched with the bearer token, put in a sandboxed iframe without `allow-scripts`, so nothing
 * in it runs; `allow-same-origin` lets the console size the frame to its content.
 */
export function ReportFrame({ path, title, refreshKey }: { path: string; title: string; refreshKey?: unknown }) {
  const [html, setHtml] = useState<string>();
  const [error, setError] = useState<unknown>();
  const ref = useRef<HTMLIFrameElement>(null);
  useEffect(() => {
    const abort = new AbortController();
    setError(undefined);
    api<string>(path, { text: true, signal: abort.signal })
      .then(setHtml)
      .catch((e: unknown) => !abort.signal.aborted && setError(e));
    return () => abort.abort();
  }, [path, refreshKey]);
  const fit = () => {
    const doc = ref.current?.contentDocument;
    if (doc && ref.current) ref.current.style.height = `${doc.documentElement.scrollHeight + 16}px`;
  };
  if (error) return <ErrorBox error={error} />;
  if (html === undefined) return <Loading what="the report" />;
  return <iframe ref={ref} class="report-frame" title={title} sandbox="allow-same-origin" srcdoc={html} onLoad={fit} />;
}
