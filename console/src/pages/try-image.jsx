import { useEffect, useRef, useState } from 'preact/hooks';

import { api, followTask } from '../api.js';
import { duration, milliseconds } from '../format.js';
import { ErrorBox, FieldError } from './common.jsx';
import { TensorResult } from './tensor-result.jsx';
import { downloadFromApi } from '../download.js';

const CORNERS = ['xmin', 'ymin', 'xmax', 'ymax'];

function clamp(value) {
  return Math.min(1, Math.max(0, value));
}

/** The image with the region drawn on it; dragging on it draws a new region. */
function ImageWithBox({ src, box, onBox }) {
  const frame = useRef(null);
  const start = useRef(null);
  const at = (event) => {
    const rect = frame.current.getBoundingClientRect();
    return {
      x: clamp((event.clientX - rect.left) / rect.width),
      y: clamp((event.clientY - rect.top) / rect.height),
    };
  };
  const drag = (event) => {
    if (!start.current) return;
    const point = at(event);
    const from = start.current;
    onBox({
      xmin: Math.min(from.x, point.x),
      ymin: Math.min(from.y, point.y),
      xmax: Math.max(from.x, point.x),
      ymax: Math.max(from.y, point.y),
    });
  };
  return (
    <div
      class="image-frame"
      ref={frame}
      data-testid="image-frame"
      onPointerDown={(event) => {
        event.preventDefault();
        frame.current.setPointerCapture(event.pointerId);
        start.current = at(event);
      }}
      onPointerMove={drag}
      onPointerUp={(event) => {
        drag(event);
        start.current = null;
      }}
    >
      <img src={src} alt="The image to run the network on" draggable={false} />
      {box && (
        <div
          class="box"
          aria-hidden="true"
          style={{
            left: `${box.xmin * 100}%`,
            top: `${box.ymin * 100}%`,
            width: `${(box.xmax - box.xmin) * 100}%`,
            height: `${(box.ymax - box.ymin) * 100}%`,
          }}
        />
      )}
    </div>
  );
}

/** What the preprocessing dry-run answers: each input tensor's statistics and a grey image
 *  of each of its channels. */
function FedTensors({ inputs }) {
  return (
    <section aria-labelledby="fed-heading" data-testid="fed">
      <h3 id="fed-heading">What the network receives</h3>
      {inputs.map((input) => (
        <figure key={input.name} class="fed">
          <figcaption>
            <code>{input.name}</code> · shape [{input.shape.join(', ')}] · {input.dtype} · min{' '}
            {input.min?.toPrecision(4)} · mean {input.mean?.toPrecision(4)} · max {input.max?.toPrecision(4)}
          </figcaption>
          <div class="channels">
            {input.channels.map((channel, index) => (
              <img
                key={index}
                src={channel}
                alt={`${input.name}, channel ${index}`}
                title={`channel ${index}`}
              />
            ))}
          </div>
        </figure>
      ))}
    </section>
  );
}

function round(value) {
  return Math.round(value * 1000) / 1000;
}

export function TryImage({ network, path, outputs }) {
  const [source, setSource] = useState('file');
  const [file, setFile] = useState(null);
  const [preview, setPreview] = useState(null);
  const [url, setUrl] = useState('');
  const [useBox, setUseBox] = useState(false);
  const [box, setBox] = useState({ xmin: 0, ymin: 0, xmax: 1, ymax: 1 });
  const [chosen, setChosen] = useState(outputs.slice(0, 1));
  const [others, setOthers] = useState('');
  const [k, setK] = useState(5);
  const [running, setRunning] = useState(false);
  const [task, setTask] = useState(null);
  const [roundTrip, setRoundTrip] = useState(null);
  const [error, setError] = useState(null);
  const [errors, setErrors] = useState({});
  const [fed, setFed] = useState(null);

  useEffect(() => setChosen(outputs.slice(0, 1)), [outputs.join('\n')]);
  useEffect(() => {
    if (!file) return setPreview(null);
    const objectUrl = URL.createObjectURL(file);
    setPreview(objectUrl);
    return () => URL.revokeObjectURL(objectUrl);
  }, [file]);

  const names = [
    ...chosen,
    ...others
      .split(',')
      .map((name) => name.trim())
      .filter(Boolean),
  ];
  const imageSrc = source === 'file' ? preview : url.trim() || null;

  /** POST the image as an inference body to ``endpoint``: the same image for each input of
   *  the network (most have one). */
  const send = (endpoint, query) => {
    const region = useBox ? Object.fromEntries(CORNERS.map((c) => [c, Number(box[c])])) : null;
    const count = network.preprocessing.inputs.length;
    if (source === 'file') {
      const form = new FormData();
      for (let index = 0; index < count; index++) {
        if (file) form.append(`inputs[${index}]image.source`, file, file.name);
        if (region) {
          for (const corner of CORNERS)
            form.append(`inputs[${index}]image.bbox.${corner}`, String(region[corner]));
        }
      }
      for (const name of names) form.append('output_tensors', name);
      return api('POST', `${path}/${endpoint}`, { form, query });
    }
    const image = { source: url.trim() };
    if (region) image.bbox = region;
    const inputs = Array.from({ length: count }, () => ({ image }));
    return api('POST', `${path}/${endpoint}`, { json: { inputs, output_tensors: names }, query });
  };

  const attempt = async (work) => {
    setError(null);
    setErrors({});
    setRunning(true);
    try {
      await work();
    } catch (failure) {
      setError(failure);
      setErrors(failure.fields || {});
    } finally {
      setRunning(false);
    }
  };

  const run = (event) => {
    event.preventDefault();
    setTask(null);
    attempt(async () => {
      const started = performance.now();
      const answer = await send('inference', { wait: 30 });
      const done = await followTask(answer.id, setTask);
      setRoundTrip(performance.now() - started);
      setTask(done);
    });
  };

  const showFed = () => {
    setFed(null);
    attempt(async () => setFed((await send('preprocess')).inputs));
  };

  const sourceError = errors['inputs[0].image.source'] || errors['inputs'] || errors['inputs[0].image'];
  const boxError = Object.entries(errors)
    .filter(([key]) => key.startsWith('inputs[0].image.bbox'))
    .map(([key, message]) => `${key.replace('inputs[0].image.bbox.', '')}: ${message}`)
    .join('; ');

  return (
    <section aria-labelledby="try-heading" class="try">
      <h2 id="try-heading">Try an image</h2>
      <form onSubmit={run} class="try-layout">
        <div>
          <div role="radiogroup" aria-label="Image source" class="mode">
            <label>
              <input
                type="radio"
                name="source"
                checked={source === 'file'}
                onChange={() => setSource('file')}
              />
              Upload a file
            </label>
            <label>
              <input
                type="radio"
                name="source"
                checked={source === 'url'}
                onChange={() => setSource('url')}
              />
              From a URL
            </label>
          </div>
          {source === 'file' ? (
            <label for="image-file">
              Image file
              <input
                id="image-file"
                type="file"
                accept="image/*"
                onChange={(event) => setFile(event.currentTarget.files[0] || null)}
                aria-describedby={sourceError ? 'image-error' : undefined}
              />
            </label>
          ) : (
            <label for="image-url">
              Image URL
              <input
                id="image-url"
                type="url"
                placeholder="https://example.com/cat.jpg"
                value={url}
                onInput={(event) => setUrl(event.currentTarget.value)}
                aria-describedby={sourceError ? 'image-error' : undefined}
              />
            </label>
          )}
          <FieldError id="image-error" message={sourceError} />

          <fieldset>
            <legend>Output tensors</legend>
            {outputs.map((name) => (
              <label key={name} for={`output-${name}`}>
                <input
                  id={`output-${name}`}
                  type="checkbox"
                  checked={chosen.includes(name)}
                  onChange={(event) =>
                    setChosen(
                      event.currentTarget.checked
                        ? [...chosen, name]
                        : chosen.filter((other) => other !== name),
                    )
                  }
                />
                <code>{name}</code>
              </label>
            ))}
            <label for="other-outputs">
              {outputs.length
                ? 'Other layers or tensors (comma-separated)'
                : 'Tensor names (comma-separated)'}
              <input
                id="other-outputs"
                value={others}
                onInput={(event) => setOthers(event.currentTarget.value)}
                placeholder="e.g. conv1, pool1"
                aria-invalid={errors.output_tensors ? 'true' : undefined}
                aria-describedby={errors.output_tensors ? 'outputs-error' : undefined}
              />
            </label>
            <FieldError id="outputs-error" message={errors.output_tensors} />
          </fieldset>
          <label for="top-k">
            Top k (for vectors)
            <input
              id="top-k"
              type="number"
              min="1"
              max="1000"
              value={k}
              onInput={(event) => setK(Number(event.currentTarget.value) || 1)}
            />
          </label>
          <div class="actions">
            <button
              type="submit"
              disabled={running || names.length === 0}
              aria-busy={running ? 'true' : undefined}
            >
              Run
            </button>
            <button type="button" class="secondary outline" disabled={running} onClick={showFed}>
              Show what the network receives
            </button>
          </div>
        </div>
        <div>
          <label for="use-box">
            <input
              id="use-box"
              type="checkbox"
              role="switch"
              checked={useBox}
              onChange={(event) => setUseBox(event.currentTarget.checked)}
            />
            Only a region of the image (drag on the image, or type its corners as fractions of its size)
          </label>
          {imageSrc && (
            <ImageWithBox
              src={imageSrc}
              box={useBox ? box : null}
              onBox={(drawn) => {
                setUseBox(true);
                setBox(drawn);
              }}
            />
          )}
          {useBox && (
            <fieldset class="grid corners">
              <legend>Region</legend>
              {CORNERS.map((corner) => (
                <label key={corner} for={`box-${corner}`}>
                  {corner}
                  <input
                    id={`box-${corner}`}
                    type="number"
                    min="0"
                    max="1"
                    step="0.01"
                    value={round(box[corner])}
                    onInput={(event) => setBox({ ...box, [corner]: event.currentTarget.value })}
                  />
                </label>
              ))}
            </fieldset>
          )}
          <FieldError id="box-error" message={boxError} />
        </div>
      </form>

      <ErrorBox error={error} />
      {fed && <FedTensors inputs={fed} />}
      <div aria-live="polite" data-testid="result">
        {task && task.status === 'pending' && <p aria-busy="true">Task {task.id} is running…</p>}
        {task && task.status === 'error' && (
          <p class="error" role="alert">
            <strong>Task {task.id} failed:</strong> {task.error}
          </p>
        )}
        {task && task.status === 'success' && (
          <>
            <h3>Result of task {task.id}</h3>
            <p class="timing" data-testid="timing">
              On the server: {duration(task.create_date, task.update_date)} (from the request to the stored
              result); round trip from this page: {milliseconds(roundTrip)}.
            </p>
            <p>
              <button
                type="button"
                class="secondary outline"
                onClick={() =>
                  downloadFromApi(
                    `/tasks/${task.id}/tensors.npz`,
                    `task-${task.id}.npz`,
                    'application/x-npz',
                  ).catch(setError)
                }
              >
                Download every tensor (.npz)
              </button>
            </p>
            {task.data.tensors.map((tensor, index) => (
              <TensorResult
                key={`${index}-${tensor.name}`}
                tensor={tensor}
                k={k}
                taskId={task.id}
                onError={setError}
              />
            ))}
          </>
        )}
      </div>
    </section>
  );
}
