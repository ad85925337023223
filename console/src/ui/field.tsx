import type { ComponentChildren, JSX } from 'preact';
import { useId } from 'preact/hooks';
import type { ValidationIssue } from '../contracts.ts';
import { issuesAt } from '../issues.ts';

export { issuesAt };

interface FieldProps {
  label: string;
  /** The request field this control sets: errors at this path (or below) show beside it. */
  path?: string;
  issues?: readonly ValidationIssue[];
  hint?: ComponentChildren;
  children: (props: { id: string; 'aria-invalid'?: boolean; 'aria-describedby'?: string }) => ComponentChildren;
}

/**
 * A labelled control with its hint and its errors. The error text is tied to the control by
 * aria-describedby, so a screen reader reads it with the field.
 */
export function Field({ label, path, issues, hint, children }: FieldProps) {
  const id = useId();
  const errors = path ? issuesAt(issues, path) : [];
  const describedBy = [hint ? `${id}-hint` : '', errors.length ? `${id}-err` : ''].filter(Boolean).join(' ') || undefined;
  return (
    <div class={`field${errors.length ? ' invalid' : ''}`} data-field={path}>
      <label for={id}>{label}</label>
      {children({ id, ...(errors.length ? { 'aria-invalid': true } : {}), ...(describedBy ? { 'aria-describedby': describedBy } : {}) })}
      {hint && (
        <p class="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      {errors.length > 0 && (
        <p class="error" id={`${id}-err`} role="alert">
          {errors.map((e) => (e.path === path ? e.message : `${e.path.slice((path ?? '').length).replace(/^\./, '')}: ${e.message}`)).join('; ')}
        </p>
      )}
    </div>
  );
}

type InputProps = Omit<JSX.InputHTMLAttributes<HTMLInputElement>, 'onInput' | 'value' | 'label'> & { label: string; path?: string; issues?: readonly ValidationIssue[]; hint?: ComponentChildren; value: string | number; onValue: (value: string) => void };

/** A text (or number, date…) input inside a Field. */
export function TextField({ label, path, issues, hint, value, onValue, ...rest }: InputProps) {
  return (
    <Field label={label} path={path} issues={issues} hint={hint}>
      {(a) => <input {...rest} {...a} value={value} onInput={(e) => onValue((e.currentTarget as HTMLInputElement).value)} />}
    </Field>
  );
}

type SelectProps = { label: string; path?: string; issues?: readonly ValidationIssue[]; hint?: ComponentChildren; value: string; onValue: (value: string) => void; options: ReadonlyArray<readonly [value: string, text: string]>; disabled?: boolean };

export function SelectField({ label, path, issues, hint, value, onValue, options, disabled }: SelectProps) {
  return (
    <Field label={label} path={path} issues={issues} hint={hint}>
      {(a) => (
        <select {...a} value={value} disabled={disabled} onChange={(e) => onValue((e.currentTarget as HTMLSelectElement).value)}>
          {options.map(([v, t]) => (
            <option key={v} value={v}>
              {t}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

/** Errors no field claims (or the request's own message), shown at the top of a form. */
export function FormErrors({ error, claimed }: { error: unknown; claimed: readonly string[] }) {
  if (!error) return null;
  const e = error as { message?: string; issues?: ValidationIssue[] };
  const unclaimed = (e.issues ?? []).filter((i) => !claimed.some((p) => issuesAt([i], p).length));
  return (
    <div class="form-errors" role="alert">
      <p>{e.message ?? String(error)}</p>
      {unclaimed.length > 0 && (
        <ul>
          {unclaimed.map((i) => (
            <li key={i.path + i.message}>
              <code>{i.path || '(request)'}</code> {i.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
