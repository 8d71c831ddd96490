import { useEffect, useRef, useState } from 'preact/hooks';

import { api, followTask } from '../api.js';
import { duration, localTime } from '../format.js';
import { ErrorBox, FieldError, Status } from './common.jsx';
import { TryImage } from './try-image.jsx';

/** The API path of a network: ``/networks/3`` (yours) or ``/networks/public/slug``. */
function pathOf(netRef) {
  return netRef.id ? `/networks/${netRef.id}` : `/networks/public/${encodeURIComponent(netRef.publicId)}`;
}

/** The deployment task, followed live until it ends. */
function Deployment({ taskId, onTask }) {
  const [task, setTask] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    let stopped = false;
    followTask(
      taskId,
      (update) => {
        setTask(update);
        onTask(update);
      },
      { stopped: () => stopped },
    ).catch((failure) => {
      if (stopped) return;
      setError(failure);
      onTask(null);
    });
    return () => {
      stopped = true;
    };
  }, [taskId]);

  if (error) {
    const hidden = error.status === 404;
    return (
      <section aria-labelledby="deployment" class="deployment">
        <h2 id="deployment">Deployment</h2>
        <p>
          {hidden
            ? 'The deployment task belongs to the network’s owner; only they can see it.'
            : error.message}
        </p>
      </section>
    );
  }
  return (
    <section aria-labelledby="deployment" class="deployment" aria-live="polite" data-testid="deployment">
      <h2 id="deployment">Deployment</h2>
      {!task && <p aria-busy="true">Reading task {taskId}…</p>}
      {task && task.status === 'pending' && (
        <p aria-busy="true">
          Deploying (task {task.id}): loading the network, checking its inputs and running a first pass…
        </p>
      )}
      {task && task.status === 'success' && (
        <p>
          <Status status="success" /> Deployed in {duration(task.create_date, task.update_date)}
          {task.data && task.data.runtime && (
            <>
              , served by <code>{task.data.runtime}</code>
            </>
          )}
          {task.data && task.data.acceleration && task.data.acceleration.reason && (
            <> ({task.data.acceleration.reason})</>
          )}
          .
        </p>
      )}
      {task && task.status === 'error' && (
        <div class="error" role="alert" data-testid="deployment-error">
          <strong>Deployment failed:</strong> {task.error}
        </div>
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
  const [deployment, setDeployment] = useState(undefined);

  useEffect(() => {
    api('GET', path).then(setNetwork).catch(setError);
  }, [path]);

  if (error) {
    return (
      <>
        <h1 tabIndex={-1}>Network</h1>
        <ErrorBox error={error} />
      </>
    );
  }
  if (!network) return <p aria-busy="true">Loading the network…</p>;
  // Inference is offered once deployed, or when the deployment is another account's to see.
  const canTry = deployment === null || (deployment && deployment.status === 'success');
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
      <Deployment taskId={network.task_id} onTask={setDeployment} />
      {canTry && (
        <TryImage
          network={network}
          path={path}
          outputs={(deployment && deployment.data && deployment.data.outputs) || []}
        />
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
