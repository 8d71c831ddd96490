import { useEffect, useState } from 'preact/hooks';

import { api } from '../api.js';
import { age, localTime } from '../format.js';
import { ErrorBox, Pager, Status } from './common.jsx';

const PAGE = 10;

/** The deployment of each network, by network id: ``{status, reason}``. Your deployment
 *  tasks say it; another account's (public) network says whether it is ready through the
 *  Open Inference Protocol's model readiness. */
async function deployments(networks) {
  if (!networks.length) return {};
  const ids = networks.map((network) => network.task_id);
  const page = await api('GET', '/tasks', { query: { task_ids: ids.join(','), limit: ids.length } });
  const tasks = Object.fromEntries(page.results.map((task) => [task.id, task]));
  const found = {};
  await Promise.all(
    networks.map(async (network) => {
      const task = tasks[network.task_id];
      if (task) {
        found[network.id] = { status: task.status, reason: task.error };
        return;
      }
      try {
        await api('GET', `/models/${encodeURIComponent(network.id)}/ready`, { base: 'v2' });
        found[network.id] = { status: 'success' };
      } catch (failure) {
        found[network.id] = { status: 'unavailable', reason: failure.message };
      }
    }),
  );
  return found;
}

function NetworkTable({ title, path, linkOf, id }) {
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState(null);
  const [status, setStatus] = useState({});
  const [error, setError] = useState(null);

  useEffect(() => {
    let live = true;
    setError(null);
    api('GET', path, { query: { offset, limit: PAGE } })
      .then(async (answer) => {
        if (!live) return;
        setPage(answer);
        const known = await deployments(answer.results);
        if (live) setStatus(known);
      })
      .catch((failure) => live && setError(failure));
    return () => {
      live = false;
    };
  }, [path, offset]);

  // While a deployment shown is pending, ask again every two seconds.
  const pending = Object.values(status).some((known) => known.status === 'pending');
  useEffect(() => {
    if (!pending || !page) return;
    let live = true;
    const timer = setTimeout(
      () =>
        deployments(page.results).then(
          (known) => live && setStatus(known),
          () => {},
        ),
      2000,
    );
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [pending, status]);

  return (
    <section aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      <ErrorBox error={error} />
      {!page && !error && <p aria-busy="true">Loading…</p>}
      {page && page.count === 0 && <p>None yet.</p>}
      {page && page.count > 0 && (
        <div class="overflow-auto">
          <table class="striped stack">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Framework</th>
                <th scope="col">Deployment</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {page.results.map((network) => (
                <tr key={network.id}>
                  <td data-label="Name">
                    <a href={linkOf(network)}>{network.name}</a>
                    {network.public_id && <small class="muted"> · public: {network.public_id}</small>}
                  </td>
                  <td data-label="Framework">{network.framework}</td>
                  <td data-label="Deployment">
                    <Status {...(status[network.id] || {})} />
                  </td>
                  <td data-label="Created" title={localTime(network.create_date)}>
                    {age(network.create_date)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {page && (
        <Pager label={`${title} pages`} offset={offset} limit={PAGE} count={page.count} onMove={setOffset} />
      )}
    </section>
  );
}

export function NetworksPage() {
  return (
    <>
      <div class="title-row">
        <h1 tabIndex={-1}>Networks</h1>
        <a href="#/networks/new" role="button">
          New network
        </a>
      </div>
      <NetworkTable
        id="own-networks"
        title="Your networks"
        path="/networks"
        linkOf={(n) => `#/networks/${n.id}`}
      />
      <NetworkTable
        id="public-networks"
        title="Public networks"
        path="/networks/public"
        linkOf={(n) => `#/public/${encodeURIComponent(n.id)}`}
      />
    </>
  );
}
