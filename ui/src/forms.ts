// Puts an API validation error (400 with `param`, or `problems`) next to the form field it names.
import { useState } from 'preact/hooks';
import { ApiError } from './api';

export type FieldErrors = Readonly<Record<string, string>>;

export interface FormErrors {
  fields: FieldErrors;
  /** What could not be placed on a field, shown above the form. */
  general: string | null;
  problems: readonly string[];
}

export const noErrors: FormErrors = { fields: {}, general: null, problems: [] };

/** '/limits/rpm', 'deployments[0].weight', 'models.x.provider' → dotted form without a leading separator. */
export function normalisePath(path: string): string {
  return path
    .trim()
    .replace(/\[(\d+)\]/g, '.$1')
    .replace(/\//g, '.')
    .replace(/^\.+/, '')
    .replace(/^\(body\)\.?/, '');
}

function fieldFor(path: string, fields: readonly string[]): string | undefined {
  const p = normalisePath(path);
  if (p === '') return undefined;
  let best: string | undefined;
  for (const f of fields) {
    const hit = p === f || p.endsWith(`.${f}`) || p.startsWith(`${f}.`) || p.includes(`.${f}.`);
    if (hit && (!best || f.length > best.length)) best = f;
  }
  return best;
}

/** Paths an error names: its param, each problem's '<path>: ...', a message starting with '/path'. */
function pathsOf(err: ApiError): Array<{ path: string; text: string }> {
  const out: Array<{ path: string; text: string }> = [];
  // A problem's own text ("unknown model 'x'") reads better beside its field than the whole message.
  for (const problem of err.problems) {
    const m = /^([^\s:]+):\s*(.*)$/.exec(problem);
    if (m) out.push({ path: m[1]!, text: m[2]! });
  }
  if (err.param) out.push({ path: err.param, text: err.message });
  const inMessage = /(?:^|[:;]\s*)(\/[\w./[\]-]+)\s+(.+?)(?:;|$)/g;
  for (const m of err.message.matchAll(inMessage)) out.push({ path: m[1]!, text: `${m[1]} ${m[2]}` });
  return out;
}

export function formErrors(err: unknown, fields: readonly string[]): FormErrors {
  if (!(err instanceof ApiError)) return { fields: {}, general: (err as Error)?.message ?? String(err), problems: [] };
  const placed: Record<string, string> = {};
  for (const { path, text } of pathsOf(err)) {
    const f = fieldFor(path, fields);
    if (f && !placed[f]) placed[f] = text;
  }
  const anyPlaced = Object.keys(placed).length > 0;
  return { fields: placed, general: anyPlaced && err.problems.length <= 1 ? null : err.message, problems: anyPlaced ? [] : err.problems };
}

/** Parses a number input: '' → undefined; otherwise the number, or NaN for junk (the API then names the field). */
export function numberOrUndefined(text: string): number | undefined {
  const t = text.trim();
  return t === '' ? undefined : Number(t);
}

/** 'a, b\nc' → ['a','b','c']. */
export function listOf(text: string): string[] {
  return text
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

export interface Submission {
  errors: FormErrors;
  setErrors: (errors: FormErrors) => void;
  busy: boolean;
  /** Runs `action` with the form busy; errors cleared when it succeeds, mapped to `fields` when the API refuses it. */
  run(action: () => Promise<void>): Promise<void>;
}

/** A form's submit state: busy while the API call runs, and the API's errors placed next to the fields they name. */
export function useSubmission(fields: readonly string[]): Submission {
  const [errors, setErrors] = useState<FormErrors>(noErrors);
  const [busy, setBusy] = useState(false);
  async function run(action: () => Promise<void>): Promise<void> {
    setBusy(true);
    try {
      await action();
      setErrors(noErrors);
    } catch (err) {
      setErrors(formErrors(err, fields));
    } finally {
      setBusy(false);
    }
  }
  return { errors, setErrors, busy, run };
}
