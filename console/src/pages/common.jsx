// Pieces shared by the pages.

import { STATUS_WORDS } from '../format.js';

export function Status({ status, reason }) {
  if (!status) return <span class="status unknown">…</span>;
  return (
    <span
      class={`status ${status}`}
      title={reason || undefined}
      aria-busy={status === 'pending' ? 'true' : undefined}
    >
      {STATUS_WORDS[status] || status}
    </span>
  );
}

/** "21–30 of 42" and Previous/Next buttons. */
export function Pager({ label, offset, limit, count, onMove }) {
  if (!count) return null;
  const last = Math.min(offset + limit, count);
  return (
    <nav class="pager" aria-label={label}>
      <button
        type="button"
        class="secondary outline"
        disabled={offset === 0}
        onClick={() => onMove(Math.max(0, offset - limit))}
      >
        Previous
      </button>
      <span aria-live="polite">
        {offset + 1}–{last} of {count}
      </span>
      <button
        type="button"
        class="secondary outline"
        disabled={last >= count}
        onClick={() => onMove(offset + limit)}
      >
        Next
      </button>
    </nav>
  );
}

/** The message of a field named by the server (``fields`` of a 400), next to its input. */
export function FieldError({ id, message }) {
  if (!message) return null;
  return (
    <small id={id} class="field-error" role="alert">
      {message}
    </small>
  );
}

export function ErrorBox({ error }) {
  if (!error) return null;
  return (
    <p class="error" role="alert">
      {error.message || String(error)}
    </p>
  );
}
