import { useEffect, useRef, useState } from 'preact/hooks';

import { api, followTask } from '../api.js';
import { age, duration, localTime } from '../format.js';
import { labelsByTensor } from '../labels.js';
import { ErrorBox, FieldError, Status } from './common.jsx';
import { TryImage } from './try-image.jsx';

/** The API path of a network: ``/networks/3`` (yours) or ``/networks/public/slug``. */
function pathOf(netRef) {
  return netRef.id ? `/networks/${netRef.id}` : `/networks/public/${encodeURIComponent(netRef.publicId)}`;
}

/** What the page knows of the deployment: ``{status, error, outputs, task}``. Your own
 *  deployment task is followed live until it ends; another account's network (a public
 *  one) is described by the Open Inference Protocol's model metadata instead, which any
 *  account that sees the network may read. */
async function followDeployment(network, v2Name, onState, stopped) {
  try {
    await followTask(
      network.task_id,
      (task) =>
        onState({
          status: task.status,
          error: task.error,
          outputs: (task.data && task.data.outputs) || [],
          task,
        }),
      { stopped },
    );
  } catch (failure) {
    if (failure.status !== 404) throw failure;
    try {
      const metadata = await api('GET', `/models/${encodeURIComponent(v2Name)}`, { base: 'v2' });
      onState({ status: 'success', error: null, outputs: metadata.outputs.map((output) => output.name) });
    } catch (notReady) {
      if (notReady.status !== 400) throw notReady;
      onState({ status: 'unavailable', error: notReady.message, outputs: [] });
    }
  }
}

/** "12 s ago", kept current. */
function Since({ iso }) {
  const [, setNow] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  return <>{age(iso)}</>;
}

function Deployment({ state, error }) {
  const task = state && state.task;
  return (
    <section aria-labelledby="deployment" class="deployment" data-testid="deployment">
      <h2 id="deployment">Deployment</h2>
      <ErrorBox error={error} />
      {!state && !error && <p aria-busy="true">Reading the deployment…</p>}
      {state && state.status === 'pending' && (
        <p aria-busy="true">
          Deploying (task {task.id}, started <Since iso={task.create_date} />
          ): loading the network, checking its inputs and running a first pass…
        </p>
      )}
      {state && state.status === 'success' && (
        <p role="status">
          <Status status="success" />{' '}
          {task ? (
            <>
              Deployed in {duration(task.create_date, task.update_date)}
              {task.data && task.data.runtime && (
                <>
                  , served by <code>{task.data.runtime}</code>
                </>
              )}
              {task.data && task.data.acceleration && task.data.acceleration.reason && (
                <> ({task.data.acceleration.reason})</>
              )}
              .
            </>
          ) : (
            'Deployed (the deployment task is its owner’s).'
          )}
        </p>
      )}
      {state && state.status === 'error' && (
        <div class="error" role="alert" data-testid="deployment-error">
          <strong>Deployment failed:</strong> {state.error}
        </div>
      )}
      {state && state.status === 'unavailable' && (
        <p class="error" role="alert">
          <strong>Not ready:</strong> {state.error}
        </p>
      )}
    </section>
  );
}

function JsonText({ id, label, value, onInput, error }) {
  return (
    <label for={id}>
      {label}
      <textarea
        id={id}
        rows={3}
        class="code"
        value={value}
        onInput={(event) => onInput(event.currentTarget.value)}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={error ? `${id}-error` : undefined}
      />
      <FieldError id={`${id}-error`} message={error} />
    </label>
  );
}

function EditForm({ network, path, onSaved }) {
  const [name, setName] = useState(network.name);
  const [description, setDescription] = useState(network.description);
  const [metadata, setMetadata] = useState(JSON.stringify(network.metadata, null, 2));
  const [errors, setErrors] = useState({});
  const [error, setError] = useState(null);
  const [saved, setSaved] = useState(false);

  const submit = async (event) => {
    event.preventDefault();
    setErrors({});
    setError(null);
    setSaved(false);
    let parsed;
    try {
      parsed = JSON.parse(metadata);
    } catch (failure) {
      setErrors({ metadata: `is not valid JSON (${failure.message})` });
      return;
    }
    try {
      const changed = await api('PATCH', path, { json: { name, description, metadata: parsed } });
      setSaved(true);
      onSaved(changed);
    } catch (failure) {
      setError(failure);
      setErrors(failure.fields || {});
    }
  };

  return (
    <form onSubmit={submit} aria-labelledby="edit-heading">
      <h2 id="edit-heading">Edit</h2>
      <ErrorBox error={error} />
      <label for="edit-name">
        Name
        <input
          id="edit-name"
          value={name}
          onInput={(event) => setName(event.currentTarget.value)}
          aria-invalid={errors.name ? 'true' : undefined}
          aria-describedby={errors.name ? 'edit-name-error' : undefined}
        />
        <FieldError id="edit-name-error" message={errors.name} />
      </label>
      <label for="edit-description">
        Description
        <textarea
          id="edit-description"
          rows={2}
          value={description}
          onInput={(event) => setDescription(event.currentTarget.value)}
        />
        <FieldError id="edit-description-error" message={errors.description} />
      </label>
      <JsonText
        id="edit-metadata"
        label="Metadata (JSON object)"
        value={metadata}
        onInput={setMetadata}
        error={errors.metadata}
      />
      <button type="submit">Save</button>
      {saved && (
        <span role="status" class="saved">
          {' '}
          Saved.
        </span>
      )}
    </form>
  );
}

function DeleteButton({ network, path }) {
  const dialog = useRef(null);
  const [error, setError] = useState(null);
  const remove = async () => {
    try {
      await api('DELETE', path);
      dialog.current.close();
      location.hash = '#/';
    } catch (failure) {
      setError(failure);
    }
  };
  return (
    <>
      <button type="button" class="contrast" onClick={() => dialog.current.showModal()}>
        Delete this network…
      </button>
      <dialog ref={dialog} aria-labelledby="delete-title">
        <article>
          <h2 id="delete-title">Delete “{network.name}”?</h2>
          <p>Its files are removed and it can no longer run. This cannot be undone.</p>
          <ErrorBox error={error} />
          <footer>
            <button type="button" class="secondary" onClick={() => dialog.current.close()} autoFocus>
              Cancel
            </button>
            <button type="button" class="contrast" onClick={remove}>
              Delete
            </button>
          </footer>
        </article>
      </dialog>
    </>
  );
}

export function NetworkPage({ netRef }) {
  const path = pathOf(netRef);
  const [network, setNetwork] = useState(null);
  const [error, setError] = useState(null);
  const [deployment, setDeployment] = useState(null);
  const [deploymentError, setDeploymentError] = useState(null);
  const [labels, setLabels] = useState({});

  useEffect(() => {
    let stopped = false;
    api('GET', path).then(
      (found) => {
        if (stopped) return;
        setNetwork(found);
        if (netRef.id)
          labelsByTensor(found.id).then(
            (known) => !stopped && setLabels(known),
            () => {},
          );
        const v2Name = netRef.id || netRef.publicId;
        followDeployment(found, v2Name, setDeployment, () => stopped).catch(
          (failure) => !stopped && setDeploymentError(failure),
        );
      },
      (failure) => !stopped && setError(failure),
    );
    return () => {
      stopped = true;
    };
  }, [path]);

  useEffect(() => {
    // The heading appears once the network is read: keyboard users land on it then.
    const heading = document.querySelector('main h1');
    if (heading) heading.focus();
  }, [network === null, error === null]);

  if (error) {
    return (
      <>
        <h1 tabIndex={-1}>Network</h1>
        <ErrorBox error={error} />
      </>
    );
  }
  if (!network) return <p aria-busy="true">Loading the network…</p>;
  return (
    <>
      <hgroup>
        <h1 tabIndex={-1}>{network.name}</h1>
        <p>
          {network.framework} · {netRef.id ? `id ${network.id}` : `public network ${network.id}`}
          {network.public_id && netRef.id && (
            <>
              {' '}
              · published as <code>{network.public_id}</code>
            </>
          )}
        </p>
      </hgroup>
      {network.description && <p>{network.description}</p>}
      <Deployment state={deployment} error={deploymentError} />
      {deployment && deployment.status === 'success' && (
        <TryImage network={network} path={path} outputs={deployment.outputs} labels={labels} />
      )}
      <details>
        <summary>Details</summary>
        <dl class="details">
          <dt>Created</dt>
          <dd>{localTime(network.create_date)}</dd>
          <dt>Updated</dt>
          <dd>{localTime(network.update_date)}</dd>
          <dt>Metadata</dt>
          <dd>
            <pre>{JSON.stringify(network.metadata, null, 2)}</pre>
          </dd>
          <dt>Preprocessing</dt>
          <dd>
            <pre>{JSON.stringify(network.preprocessing, null, 2)}</pre>
          </dd>
        </dl>
      </details>
      <EditForm network={network} path={path} onSaved={setNetwork} />
      <section aria-label="Delete" class="danger">
        <DeleteButton network={network} path={path} />
      </section>
    </>
  );
}
