// A JSON text editor that checks syntax as you type and shows where the first problem is.
import { TextArea } from './field';

export interface JsonCheck {
  value?: unknown;
  error?: string;
}

/** Parses `text`; on failure says at which line and column. */
export function checkJson(text: string): JsonCheck {
  try {
    return { value: JSON.parse(text) as unknown };
  } catch (err) {
    const message = (err as Error).message;
    const at = /position (\d+)/.exec(message);
    if (!at) return { error: message };
    const before = text.slice(0, Number(at[1]));
    const line = before.split('\n').length;
    const column = before.length - before.lastIndexOf('\n');
    return { error: `${message.replace(/ in JSON at position \d+.*$/, '')} at line ${line}, column ${column}` };
  }
}

interface JsonEditorProps {
  label: string;
  name: string;
  value: string;
  onValue: (text: string) => void;
  /** A server-side problem to show (validation), shown when the text itself parses. */
  error?: string | undefined;
  rows?: number;
}

export function JsonEditor({ label, name, value, onValue, error, rows = 18 }: JsonEditorProps) {
  const syntax = value.trim() === '' ? undefined : checkJson(value).error;
  return <TextArea label={label} name={name} value={value} onValue={onValue} rows={rows} class="code-editor" error={syntax ?? error} hint="JSON. Checked as you type; the gateway validates it against the config schema on save." />;
}
