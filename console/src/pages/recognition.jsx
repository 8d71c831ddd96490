// Recognition specs: the lists, and a spec's page with its labels, its versions, and an
// image to recognise (labels, scores and boxes drawn on the image).

import { useEffect, useState } from 'preact/hooks';

import { api, followTask } from '../api.js';
import { age, duration, localTime } from '../format.js';
import { ErrorBox, Pager } from './common.jsx';
import { ImageRegionFields, ImageSourceFields, imageBody, useImageChoice } from './image-choice.jsx';

const PAGE = 10;

function SpecTable({ id, title, path, linkOf }) {
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    api('GET', path, { query: { offset, limit: PAGE } }).then(setPage, setError);
  }, [path, offset]);
  return (
    <section aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      <ErrorBox error={error} />
      {!page && !error && <p aria-busy="true">Loading…</p>}
      {page && page.count === 0 && <p>None yet.</p>}
      {page && page.count > 0 && (
        <table class="striped stack">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Description</th>
              <th scope="col">Updated</th>
            </tr>
          </thead>
          <tbody>
            {page.results.map((spec) => (
              <tr key={spec.id}>
                <td data-label="Name">
                  <a href={linkOf(spec)}>{spec.name}</a>
                </td>
                <td data-label="Description">{spec.description}</td>
                <td data-label="Updated" title={localTime(spec.update_date)}>
                  {age(spec.update_date)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {page && (
        <Pager label={`${title} pages`} offset={offset} limit={PAGE} count={page.count} onMove={setOffset} />
      )}
    </section>
  );
}

export function RecognitionPage() {
  return (
    <>
      <h1 tabIndex={-1}>Recognition</h1>
      <p>
        A recognition spec names the labels an algorithm recognises; its versions bind it to a network. Create
        them through the API (see the README); here you look at them and try them on an image.
      </p>
      <SpecTable
        id="own-specs"
        title="Your recognition specs"
        path="/recognition/specs"
        linkOf={(spec) => `#/recognition/specs/${spec.id}`}
      />
      <SpecTable
        id="public-specs"
        title="Public recognition specs"
        path="/recognition/public"
        linkOf={(spec) => `#/recognition/public/${encodeURIComponent(spec.id)}`}
      />
    </>
  );
}

function Versions({ spec }) {
  const [page, setPage] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    api('GET', `/recognition/specs/${spec.id}/versions`, { query: { limit: 100 } }).then(setPage, setError);
  }, [spec.id]);
  return (
    <section aria-labelledby="versions-heading">
      <h2 id="versions-heading">Versions</h2>
      <ErrorBox error={error} />
      {page && page.count === 0 && <p>No version yet: inference needs one.</p>}
      {page && page.count > 0 && (
        <table class="striped stack">
          <thead>
            <tr>
              <th scope="col">Id</th>
              <th scope="col">Network</th>
              <th scope="col">Post-processing</th>
              <th scope="col">Current</th>
            </tr>
          </thead>
          <tbody>
            {page.results.map((version) => (
              <tr key={version.id}>
                <td data-label="Id">{version.id}</td>
                <td data-label="Network">
                  <a href={`#/networks/${version.network_id}`}>{version.network_name}</a>
                </td>
                <td data-label="Post-processing">
                  {version.post_processings.map((step) => Object.keys(step).join(', ')).join('; ')}
                </td>
                <td data-label="Current">{version.id === spec.current_version_id ? 'yes' : ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Predictions({ caption, predictions, testId }) {
  const boxes = predictions.some((prediction) => prediction.roi);
  return (
    <table class="predictions" data-testid={testId}>
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">Label</th>
          <th scope="col">Id</th>
          <th scope="col">Score</th>
          <th scope="col">Threshold</th>
          {boxes && <th scope="col">Box</th>}
        </tr>
      </thead>
      <tbody>
        {predictions.map((prediction, index) => (
          <tr key={index}>
            <td class="label">{prediction.label_name}</td>
            <td>{prediction.label_id}</td>
            <td class="score">{prediction.score.toPrecision(6)}</td>
            <td>{prediction.threshold}</td>
            {boxes && (
              <td>
                {prediction.roi &&
                  `#${prediction.roi.region_id} ` +
                    ['xmin', 'ymin', 'xmax', 'ymax'].map((c) => prediction.roi.bbox[c].toFixed(3)).join(', ')}
              </td>
            )}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Recognise({ path }) {
  const choice = useImageChoice();
  const [maxPredictions, setMaxPredictions] = useState(5);
  const [showDiscarded, setShowDiscarded] = useState(true);
  const [running, setRunning] = useState(false);
  const [task, setTask] = useState(null);
  const [error, setError] = useState(null);
  const [errors, setErrors] = useState({});

  const run = async (event) => {
    event.preventDefault();
    setError(null);
    setErrors({});
    setTask(null);
    setRunning(true);
    try {
      const body = imageBody(choice, 1, { show_discarded: showDiscarded, max_predictions: maxPredictions });
      const answer = await api('POST', `${path}/inference`, { ...body, query: { wait: 30 } });
      setTask(await followTask(answer.id, setTask));
    } catch (failure) {
      setError(failure);
      setErrors(failure.fields || {});
    } finally {
      setRunning(false);
    }
  };

  const outputs = task && task.status === 'success' ? task.data.outputs : [];
  const found = outputs.flatMap((output) =>
    output.labels.predicted
      .filter((prediction) => prediction.roi)
      .map((prediction) => ({
        bbox: prediction.roi.bbox,
        label: `${prediction.label_name} ${prediction.score.toFixed(2)}`,
      })),
  );
  return (
    <section aria-labelledby="recognise-heading">
      <h2 id="recognise-heading">Recognise an image</h2>
      <form onSubmit={run} class="try-layout">
        <div>
          <ImageSourceFields choice={choice} errors={errors} />
          <label for="max-predictions">
            Largest number of predictions per output
            <input
              id="max-predictions"
              type="number"
              min="1"
              value={maxPredictions}
              onInput={(event) => setMaxPredictions(Number(event.currentTarget.value) || 1)}
            />
          </label>
          <label for="show-discarded">
            <input
              id="show-discarded"
              type="checkbox"
              role="switch"
              checked={showDiscarded}
              onChange={(event) => setShowDiscarded(event.currentTarget.checked)}
            />
            Show the labels under their threshold too
          </label>
          <button type="submit" disabled={running} aria-busy={running ? 'true' : undefined}>
            Recognise
          </button>
        </div>
        <div>
          <ImageRegionFields choice={choice} errors={errors} found={found} />
        </div>
      </form>
      <ErrorBox error={error} />
      <div aria-live="polite" data-testid="recognition-result">
        {task && task.status === 'pending' && <p aria-busy="true">Task {task.id} is running…</p>}
        {task && task.status === 'error' && (
          <p class="error" role="alert">
            <strong>Task {task.id} failed:</strong> {task.error}
          </p>
        )}
        {task && task.status === 'success' && (
          <>
            <h3>Result of task {task.id}</h3>
            <p>On the server: {duration(task.create_date, task.update_date)}.</p>
            {outputs.map((output, index) => (
              <article key={index}>
                <Predictions
                  caption={`Output ${index + 1}: predicted`}
                  predictions={output.labels.predicted}
                  testId="predicted"
                />
                {output.labels.discarded.length > 0 && (
                  <details>
                    <summary>Under their threshold ({output.labels.discarded.length})</summary>
                    <Predictions
                      caption={`Output ${index + 1}: discarded`}
                      predictions={output.labels.discarded}
                      testId="discarded"
                    />
                  </details>
                )}
              </article>
            ))}
          </>
        )}
      </div>
    </section>
  );
}

export function SpecPage({ specRef }) {
  const path = specRef.id
    ? `/recognition/specs/${specRef.id}`
    : `/recognition/public/${encodeURIComponent(specRef.publicId)}`;
  const [spec, setSpec] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    api('GET', path).then(setSpec, setError);
  }, [path]);
  useEffect(() => {
    const heading = document.querySelector('main h1');
    if (heading) heading.focus();
  }, [spec === null]);

  if (error) {
    return (
      <>
        <h1 tabIndex={-1}>Recognition spec</h1>
        <ErrorBox error={error} />
      </>
    );
  }
  if (!spec) return <p aria-busy="true">Loading the spec…</p>;
  return (
    <>
      <hgroup>
        <h1 tabIndex={-1}>{spec.name}</h1>
        <p>{specRef.id ? `recognition spec ${spec.id}` : `public recognition spec ${spec.id}`}</p>
      </hgroup>
      {spec.description && <p>{spec.description}</p>}
      <section aria-labelledby="labels-heading">
        <h2 id="labels-heading">Labels</h2>
        {spec.outputs.map((output, index) => (
          <p key={index}>
            Output {index + 1} ({output.labels.roi === 'BBOX' ? 'boxes' : 'whole image'}
            {output.labels.exclusive ? ', exclusive' : ''}):{' '}
            {output.labels.labels.map((label) => `${label.name} (${label.id})`).join(', ')}
          </p>
        ))}
      </section>
      {specRef.id && <Versions spec={spec} />}
      <Recognise path={path} />
    </>
  );
}
