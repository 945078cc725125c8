// Labelled form controls that show their validation error beside them (aria-invalid + aria-describedby).
import type { ComponentChildren, JSX } from 'preact';

interface FieldProps {
  id: string;
  label: string;
  error?: string | undefined;
  hint?: ComponentChildren;
  children: ComponentChildren;
  wide?: boolean;
}

export function Field({ id, label, error, hint, children, wide }: FieldProps) {
  return (
    <div class={`field${wide ? ' wide' : ''}${error ? ' has-error' : ''}`}>
      <label for={id}>{label}</label>
      {children}
      {hint && !error && (
        <small class="hint" id={`${id}-hint`}>
          {hint}
        </small>
      )}
      {error && (
        <small class="field-error" id={`${id}-error`} role="alert">
          {error}
        </small>
      )}
    </div>
  );
}

type InputProps = Omit<JSX.InputHTMLAttributes<HTMLInputElement>, 'onInput' | 'value' | 'label'> & {
  label: string;
  name: string;
  value: string;
  onValue: (value: string) => void;
  error?: string | undefined;
  hint?: ComponentChildren;
  wide?: boolean;
};

function describedBy(id: string, error: string | undefined, hint: unknown): string | undefined {
  if (error) return `${id}-error`;
  return hint ? `${id}-hint` : undefined;
}

export function TextField({ label, name, value, onValue, error, hint, wide, id, ...rest }: InputProps) {
  const inputId = (id as string | undefined) ?? `f-${name}`;
  return (
    <Field id={inputId} label={label} error={error} hint={hint} wide={wide}>
      <input
        {...rest}
        id={inputId}
        name={name}
        value={value}
        onInput={(e) => onValue(e.currentTarget.value)}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={describedBy(inputId, error, hint)}
      />
    </Field>
  );
}

type AreaProps = Omit<JSX.TextareaHTMLAttributes<HTMLTextAreaElement>, 'onInput' | 'value' | 'label'> & {
  label: string;
  name: string;
  value: string;
  onValue: (value: string) => void;
  error?: string | undefined;
  hint?: ComponentChildren;
};

export function TextArea({ label, name, value, onValue, error, hint, id, ...rest }: AreaProps) {
  const inputId = (id as string | undefined) ?? `f-${name}`;
  return (
    <Field id={inputId} label={label} error={error} hint={hint} wide>
      <textarea
        {...rest}
        id={inputId}
        name={name}
        value={value}
        onInput={(e) => onValue(e.currentTarget.value)}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={describedBy(inputId, error, hint)}
        spellcheck={false}
      />
    </Field>
  );
}

interface SelectProps {
  label: string;
  name: string;
  value: string;
  options: ReadonlyArray<string | { value: string; label: string }>;
  onValue: (value: string) => void;
  error?: string | undefined;
  hint?: ComponentChildren;
  id?: string;
  disabled?: boolean;
}

export function SelectField({ label, name, value, options, onValue, error, hint, id, disabled }: SelectProps) {
  const inputId = id ?? `f-${name}`;
  return (
    <Field id={inputId} label={label} error={error} hint={hint}>
      <select
        id={inputId}
        name={name}
        value={value}
        disabled={disabled}
        onChange={(e) => onValue(e.currentTarget.value)}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={describedBy(inputId, error, hint)}
      >
        {options.map((o) => (typeof o === 'string' ? <option value={o}>{o}</option> : <option value={o.value}>{o.label}</option>))}
      </select>
    </Field>
  );
}

export function CheckField({ label, name, checked, onValue, hint }: { label: string; name: string; checked: boolean; onValue: (v: boolean) => void; hint?: string }) {
  const inputId = `f-${name}`;
  return (
    <div class="field check">
      <input id={inputId} type="checkbox" name={name} checked={checked} onChange={(e) => onValue(e.currentTarget.checked)} />
      <label for={inputId}>{label}</label>
      {hint && <small class="hint">{hint}</small>}
    </div>
  );
}
