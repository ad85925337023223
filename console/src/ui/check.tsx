import type { ComponentChildren } from 'preact';
import { useId } from 'preact/hooks';
import type { ValidationIssue } from '../contracts.ts';
import { issuesAt } from './field.tsx';
import './extra.css';

/** A labelled checkbox with its hint and the errors at `path`, like Field for text inputs. */
export function CheckField({ label, path, issues, hint, checked, onValue }: { label: string; path?: string; issues?: readonly ValidationIssue[]; hint?: ComponentChildren; checked: boolean; onValue: (checked: boolean) => void }) {
  const id = useId();
  const errors = path ? issuesAt(issues, path) : [];
  const describedBy = [hint ? `${id}-hint` : '', errors.length ? `${id}-err` : ''].filter(Boolean).join(' ') || undefined;
  return (
    <div class={`field check${errors.length ? ' invalid' : ''}`} data-field={path}>
      <label for={id}>
        <input id={id} type="checkbox" checked={checked} aria-invalid={errors.length ? true : undefined} aria-describedby={describedBy} onChange={(e) => onValue((e.currentTarget as HTMLInputElement).checked)} /> {label}
      </label>
      {hint && (
        <p class="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      {errors.length > 0 && (
        <p class="error" id={`${id}-err`} role="alert">
          {errors.map((e) => e.message).join('; ')}
        </p>
      )}
    </div>
  );
}
