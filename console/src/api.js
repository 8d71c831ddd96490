// The console's only way to the server: the public API under v0.7, with the API key of
// this browser tab (sessionStorage: gone when the tab closes or on sign-out).

const KEY_ITEM = 'vulcain.apiKey';

export const apiKey = {
  get: () => sessionStorage.getItem(KEY_ITEM),
  set: (key) => sessionStorage.setItem(KEY_ITEM, key),
  clear: () => sessionStorage.removeItem(KEY_ITEM),
};

/** An answer of the API other than 2xx: its sentence and, for bad input, the fields it names. */
export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error) || `The server answered ${status}`);
    this.status = status;
    this.fields = (body && body.fields) || {};
  }
}

/** The URL of an API path, relative to the page (so a console behind a path prefix works):
 *  under v0.7, or under ``base`` (v2, the Open Inference Protocol). */
export function apiUrl(path, query, base = 'v0.7') {
  const url = new URL(base + path, document.baseURI);
  for (const [name, value] of Object.entries(query || {})) {
    if (value === undefined || value === null) continue;
    for (const item of [].concat(value)) url.searchParams.append(name, String(item));
  }
  return url.toString();
}

async function parse(response) {
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = { error: `The server answered ${response.status} with something that is not JSON` };
  }
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

/** ``method path`` with a JSON body (``json``) or a FormData (``form``); the parsed answer. */
export async function api(method, path, { json, form, query, key, base, accept } = {}) {
  const headers = { 'X-API-KEY': key || apiKey.get() || '' };
  if (accept) headers.Accept = accept;
  let body;
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = form;
  }
  let response;
  try {
    response = await fetch(apiUrl(path, query, base), { method, headers, body });
  } catch (error) {
    throw new ApiError(0, { error: `The server cannot be reached (${error.message})` });
  }
  if (accept && response.ok) return response.blob();
  return parse(response);
}

/** A multipart upload that reports its progress: ``onProgress(sent, total)``. */
export function upload(path, form, onProgress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open('POST', apiUrl(path));
    request.setRequestHeader('X-API-KEY', apiKey.get() || '');
    request.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded, event.total);
    };
    request.onload = () => {
      let body = null;
      try {
        body = request.responseText ? JSON.parse(request.responseText) : null;
      } catch {
        body = { error: `The server answered ${request.status} with something that is not JSON` };
      }
      if (request.status >= 200 && request.status < 300) resolve(body);
      else reject(new ApiError(request.status, body));
    };
    request.onerror = () =>
      reject(new ApiError(0, { error: 'The upload was cut off: the server cannot be reached' }));
    request.send(form);
  });
}

/** Wait for a task to end (long-poll ``wait``), calling ``onUpdate(task)`` on each answer. */
export async function followTask(taskId, onUpdate, { stopped = () => false } = {}) {
  let task = await api('GET', `/tasks/${taskId}`);
  onUpdate(task);
  while (task.status === 'pending' && !stopped()) {
    task = await api('GET', `/tasks/${taskId}`, { query: { wait: 20 } });
    if (!stopped()) onUpdate(task);
  }
  return task;
}

let schemaPromise = null;

/** The OpenAPI document (public): the console reads allowed values and defaults from it. */
export function openapi() {
  schemaPromise = schemaPromise || fetch(apiUrl('/openapi.json')).then(parse);
  return schemaPromise;
}
