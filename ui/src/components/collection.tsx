// What the list pages (models, providers, prices) share: the heading with its filter and add button,
// a row's Edit/Delete buttons, and the delete flow with its confirmation.
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { ConfirmDialog } from './dialog';
import { announce, ErrorBanner } from './status';

export interface PageHeadProps {
  title: string;
  addLabel: string;
  onAdd: () => void;
  disabled: boolean;
  /** A filter box when given: its id and accessible label. */
  filter?: { id: string; label: string; value: string; onInput: (value: string) => void };
}

export function PageHead({ title, addLabel, onAdd, disabled, filter }: PageHeadProps) {
  return (
    <div class="page-head">
      <h1 id="page-title" tabIndex={-1}>
        {title}
      </h1>
      <div class="toolbar">
        {filter && (
          <>
            <label for={filter.id} class="sr-only">
              {filter.label}
            </label>
            <input id={filter.id} type="search" placeholder="Filter" value={filter.value} onInput={(e) => filter.onInput(e.currentTarget.value)} />
          </>
        )}
        <button type="button" class="primary" disabled={disabled} onClick={onAdd}>
          {addLabel}
        </button>
      </div>
    </div>
  );
}

export function RowActions(props: { name: string; disabled: boolean; onEdit: () => void; onDelete: () => void; children?: ComponentChildren }) {
  return (
    <td class="row-actions">
      {props.children}
      <button type="button" disabled={props.disabled} onClick={props.onEdit}>
        Edit<span class="sr-only"> {props.name}</span>
      </button>
      <button type="button" class="danger" disabled={props.disabled} onClick={props.onDelete}>
        Delete<span class="sr-only"> {props.name}</span>
      </button>
    </td>
  );
}

export interface Deletion<T> {
  item: T | null;
  ask(item: T): void;
  dialog(props: { title: string; message: (item: T) => ComponentChildren }): preact.JSX.Element;
}

/** The delete flow: ask, confirm, call `remove`, announce `done(item)`, then `after()`; an error stays in the dialog. */
export function useDeletion<T>(remove: (item: T) => Promise<void>, done: (item: T) => string, after: () => void): Deletion<T> {
  const [item, setItem] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const close = () => {
    setItem(null);
    setError(null);
  };
  const confirm = async () => {
    if (item === null) return;
    try {
      await remove(item);
      announce(done(item));
      close();
      after();
    } catch (err) {
      setError(err);
    }
  };
  return {
    item,
    ask: setItem,
    dialog: ({ title, message }) => (
      <ConfirmDialog
        title={title}
        open={item !== null}
        confirmLabel="Delete"
        message={
          <>
            {item !== null && message(item)}
            <ErrorBanner error={error} />
          </>
        }
        onConfirm={() => void confirm()}
        onClose={close}
      />
    ),
  };
}
