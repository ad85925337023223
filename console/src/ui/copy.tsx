import { useState } from 'preact/hooks';

/**
 * A button that copies `text` to the clipboard and says so in a live region. When the browser
 * refuses (no permission, insecure context), it says that instead, and the text stays on the
 * page to copy by hand.
 */
export function CopyButton({ text, label }: { text: string; label: string }) {
  const [said, setSaid] = useState('');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setSaid('Copied.');
    } catch {
      setSaid('The browser would not copy: select the text and copy it by hand.');
    }
  };
  return (
    <span class="copy">
      <button type="button" onClick={() => void copy()}>
        {label}
      </button>{' '}
      <span role="status" aria-live="polite" class="muted">
        {said}
      </span>
    </span>
  );
}
