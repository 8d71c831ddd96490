import { useState } from 'preact/hooks';

import { api } from '../api.js';

export function SignInPage({ onSignedIn }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const account = await api('GET', '/accounts/me', { key: key.trim() });
      onSignedIn(key.trim(), account);
    } catch (failure) {
      setError(failure.message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="container narrow">
      <h1 tabIndex={-1}>Vulcain console</h1>
      <p>Deploy networks, watch their deployment and try them on an image.</p>
      <form onSubmit={submit} aria-describedby="key-help">
        <label for="api-key">API key</label>
        <input
          id="api-key"
          name="api_key"
          type="password"
          autoComplete="off"
          autoFocus
          required
          value={key}
          onInput={(event) => setKey(event.currentTarget.value)}
          aria-invalid={error ? 'true' : undefined}
          aria-describedby="key-help key-error"
        />
        <small id="key-help">
          The key <code>vulcain serve</code> printed at its first start, or one made by{' '}
          <code>vulcain accounts create</code>. It is kept in this browser tab only.
        </small>
        {error && (
          <p id="key-error" class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" aria-busy={busy ? 'true' : undefined} disabled={busy || !key.trim()}>
          Sign in
        </button>
      </form>
    </main>
  );
}
