// "Back to the file": drops the admin API's runtime change of one object (POST /admin/config/reset).
import { useState } from 'preact/hooks';
import { api } from '../api';
import { readOnly } from '../session';
import { ConfirmDialog } from './dialog';
import { announce, ErrorBanner } from './status';

export function ResetButton({ target, label, onDone }: { target: string; label: string; onDone: () => void }) {
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<unknown>(null);
  async function reset() {
    try {
      await api('POST', '/admin/config/reset', { target });
      announce(`${target} is as the config file says again.`);
      setOpen(false);
      onDone();
    } catch (err) {
      setError(err);
    }
  }
  return (
    <>
      <button type="button" class="ghost" disabled={readOnly()} onClick={() => setOpen(true)}>
        Reset<span class="sr-only"> {label} to the config file</span>
      </button>
      <ConfirmDialog
        title="Reset to the config file"
        open={open}
        confirmLabel="Reset"
        message={
          <>
            Drop the change made through the admin API to <strong>{target}</strong>? It goes back to what the config file says (or away, if the file does not have it).
            <ErrorBanner error={error} />
          </>
        }
        onConfirm={() => void reset()}
        onClose={() => {
          setOpen(false);
          setError(null);
        }}
      />
    </>
  );
}
