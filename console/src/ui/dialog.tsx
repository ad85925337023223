import type { ComponentChildren } from 'preact';
import { useEffect, useId, useRef } from 'preact/hooks';

/**
 * A modal on the native <dialog>: focus moves into it, Escape closes it (unless `required`),
 * the page behind is inert.
 */
export function Dialog({ open, title, children, onClose, required }: { open: boolean; title: string; children: ComponentChildren; onClose?: () => void; required?: boolean }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return (
    <dialog
      ref={ref}
      aria-labelledby={titleId}
      onCancel={(e) => {
        if (required) e.preventDefault();
        else onClose?.();
      }}
    >
      <h2 id={titleId}>{title}</h2>
      {children}
    </dialog>
  );
}

/** "Are you sure?" for what cannot be undone (erase a contact, cancel a campaign). */
export function ConfirmDialog({ open, title, body, confirmLabel, danger, onConfirm, onClose, busy }: { open: boolean; title: string; body: ComponentChildren; confirmLabel: string; danger?: boolean; onConfirm: () => void; onClose: () => void; busy?: boolean }) {
  return (
    <Dialog open={open} title={title} onClose={onClose}>
      <div>{body}</div>
      <div class="actions">
        <button type="button" onClick={onClose}>
          Keep it
        </button>
        <button type="button" class={danger ? 'danger' : 'primary'} disabled={busy} onClick={onConfirm}>
          {confirmLabel}
        </button>
      </div>
    </Dialog>
  );
}
