import '@picocss/pico/css/pico.min.css';
import './console.css';

import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';

import { api, apiKey } from './api.js';
import { NetworkPage } from './pages/network.jsx';
import { NetworksPage } from './pages/networks.jsx';
import { NewNetworkPage } from './pages/new-network.jsx';
import { RecognitionPage, SpecPage } from './pages/recognition.jsx';
import { SignInPage } from './pages/sign-in.jsx';
import { TasksPage } from './pages/tasks.jsx';

/** The page named by the location's hash: #/, #/networks/new, #/networks/3,
 *  #/public/some-slug, #/tasks, #/recognition, #/recognition/specs/3,
 *  #/recognition/public/some-slug. */
function route(hash) {
  const path = hash.replace(/^#/, '') || '/';
  let match;
  if (path === '/networks/new') return { page: 'new' };
  if ((match = path.match(/^\/networks\/(\d+)$/))) return { page: 'network', ref: { id: match[1] } };
  if ((match = path.match(/^\/public\/(.+)$/))) {
    return { page: 'network', ref: { publicId: decodeURIComponent(match[1]) } };
  }
  if (path === '/tasks') return { page: 'tasks' };
  if (path === '/recognition') return { page: 'recognition' };
  if ((match = path.match(/^\/recognition\/specs\/(\d+)$/))) return { page: 'spec', ref: { id: match[1] } };
  if ((match = path.match(/^\/recognition\/public\/(.+)$/))) {
    return { page: 'spec', ref: { publicId: decodeURIComponent(match[1]) } };
  }
  return { page: 'networks' };
}

function useHash() {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const changed = () => setHash(location.hash);
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  return hash;
}

const TITLES = {
  networks: 'Networks',
  new: 'New network',
  network: 'Network',
  tasks: 'Tasks',
  recognition: 'Recognition',
  spec: 'Recognition spec',
};

function App() {
  const hash = useHash();
  const [account, setAccount] = useState(null);
  const [checking, setChecking] = useState(Boolean(apiKey.get()));

  useEffect(() => {
    if (!apiKey.get()) return;
    api('GET', '/accounts/me')
      .then(setAccount)
      .catch(() => apiKey.clear())
      .finally(() => setChecking(false));
  }, []);

  const current = route(hash);
  useEffect(() => {
    document.title = account ? `${TITLES[current.page]} · Vulcain` : 'Sign in · Vulcain';
    // Move focus to the new page's heading, so keyboard and screen reader users land on it
    // (the sign-in page focuses its key field itself).
    const heading = account && document.querySelector('main h1');
    if (heading) heading.focus();
  }, [hash, account]);

  if (checking)
    return (
      <main class="container" aria-busy="true">
        Checking your API key…
      </main>
    );
  if (!account) {
    return (
      <SignInPage
        onSignedIn={(key, who) => {
          apiKey.set(key);
          setAccount(who);
        }}
      />
    );
  }
  const signOut = () => {
    apiKey.clear();
    setAccount(null);
    location.hash = '#/';
  };
  return (
    <>
      <header class="container">
        <nav aria-label="Console">
          <ul>
            <li>
              <strong>
                <a href="#/" class="brand">
                  Vulcain
                </a>
              </strong>
            </li>
            <li>
              <a href="#/" aria-current={current.page === 'networks' ? 'page' : undefined}>
                Networks
              </a>
            </li>
            <li>
              <a href="#/networks/new" aria-current={current.page === 'new' ? 'page' : undefined}>
                New network
              </a>
            </li>
            <li>
              <a
                href="#/recognition"
                aria-current={['recognition', 'spec'].includes(current.page) ? 'page' : undefined}
              >
                Recognition
              </a>
            </li>
            <li>
              <a href="#/tasks" aria-current={current.page === 'tasks' ? 'page' : undefined}>
                Tasks
              </a>
            </li>
          </ul>
          <ul>
            <li class="account" data-testid="account">
              Signed in as <strong>{account.name}</strong>
              {account.is_admin ? ' (admin)' : ''}
              <small> · app id {account.app_id}</small>
            </li>
            <li>
              <button type="button" class="secondary outline" onClick={signOut}>
                Sign out
              </button>
            </li>
          </ul>
        </nav>
      </header>
      <main class="container">
        {current.page === 'networks' && <NetworksPage />}
        {current.page === 'new' && <NewNetworkPage />}
        {current.page === 'network' && (
          <NetworkPage key={JSON.stringify(current.ref)} netRef={current.ref} account={account} />
        )}
        {current.page === 'tasks' && <TasksPage />}
        {current.page === 'recognition' && <RecognitionPage />}
        {current.page === 'spec' && <SpecPage key={JSON.stringify(current.ref)} specRef={current.ref} />}
      </main>
      <footer class="container">
        <small>
          The console is a client of the <a href="v0.7/docs">Vulcain API</a>; your API key stays in this
          browser tab until you sign out or close it.
        </small>
      </footer>
    </>
  );
}

render(<App />, document.getElementById('app'));
