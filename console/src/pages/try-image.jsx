import { useEffect, useState } from 'preact/hooks';

import { api, followTask } from '../api.js';
import { downloadFromApi } from '../download.js';
import { duration, milliseconds } from '../format.js';
import { ErrorBox, FieldError } from './common.jsx';
import { FedTensors } from './fed-tensors.jsx';
import { ImageRegionFields, ImageSourceFields, imageBody, useImageChoice } from './image-choice.jsx';
import { TensorResult } from './tensor-result.jsx';

export function TryImage({ network, path, outputs, labels = {} }) {
  const choice = useImageChoice();
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

  const names = [
    ...chosen,
    ...others
      .split(',')
      .map((name) => name.trim())
      .filter(Boolean),
  ];

  /** POST the image as an inference body to ``endpoint``: the same image for each input of
   *  the network (most have one). */
  const send = (endpoint, query) => {
    const body = imageBody(choice, network.preprocessing.inputs.length, { output_tensors: names });
    return api('POST', `${path}/${endpoint}`, { ...body, query });
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

  return (
    <section aria-labelledby="try-heading" class="try">
      <h2 id="try-heading">Try an image</h2>
      <form onSubmit={run} class="try-layout">
        <div>
          <ImageSourceFields choice={choice} errors={errors} />

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
          <ImageRegionFields choice={choice} errors={errors} />
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
                labels={labels[tensor.name]}
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
