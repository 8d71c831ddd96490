// Files the page offers to the user.

import { api } from './api.js';

/** Offer ``blob`` to the user as a file named ``name``. */
export function saveBlob(name, blob) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** Download an API answer in a binary form (``accept``) as the file ``name``: the key
 *  travels in a header, so a plain link cannot fetch it. */
export async function downloadFromApi(path, name, accept) {
  saveBlob(name, await api('GET', path, { accept }));
}
