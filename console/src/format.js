// Small formatting helpers shared by the pages.

/** "12 s ago", "3 min ago", "2 h ago", "5 d ago". */
export function age(iso, now = Date.now()) {
  const seconds = Math.max(0, (now - Date.parse(iso)) / 1000);
  if (seconds < 60) return `${Math.round(seconds)} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} d ago`;
}

/** Milliseconds between two ISO dates, as "840 ms" or "2.4 s". */
export function duration(fromIso, toIso) {
  return milliseconds(Date.parse(toIso) - Date.parse(fromIso));
}

export function milliseconds(ms) {
  if (!Number.isFinite(ms)) return '';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

export function localTime(iso) {
  return new Date(iso).toLocaleString();
}

/** The words a task status is shown with. */
export const STATUS_WORDS = {
  pending: 'pending',
  success: 'success',
  error: 'failed',
  unavailable: 'not ready',
};
