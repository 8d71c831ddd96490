import { useEffect, useState } from 'preact/hooks';

import { openapi, upload } from '../api.js';
import { ErrorBox, FieldError } from './common.jsx';
import { Select, TextField } from './fields.jsx';
import { FileDrop } from './file-drop.jsx';
import { InputFields, imageFieldsOf, newInput, preprocessingOf } from './preprocessing-form.jsx';

const MEAN_FILE = /\.(npy|binaryproto)$/;
export function NewNetworkPage() {
  const [fields, setFields] = useState(null);
  const [loadError, setLoadError] = useState(null);
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [metadata, setMetadata] = useState('{}');
  const [framework, setFramework] = useState('onnx');
  const [files, setFiles] = useState([]);
  const [mode, setMode] = useState('form');
  const [form, setForm] = useState(null);
  const [json, setJson] = useState('');
  const [jsonProblem, setJsonProblem] = useState(null);
  const [errors, setErrors] = useState({});
  const [error, setError] = useState(null);
  const [progress, setProgress] = useState(null);

  useEffect(() => {
    openapi()
      .then((document) => {
        const found = imageFieldsOf(document);
        setFields(found);
        setForm({ batched_output: true, inputs: [newInput(found.defaults)] });
      })
      .catch(setLoadError);
  }, []);

  if (loadError) return <ErrorBox error={loadError} />;
  if (!fields || !form) return <p aria-busy="true">Loading the preprocessing fields…</p>;

  const meanFiles = files.map((file) => file.name).filter((fileName) => MEAN_FILE.test(fileName));

  const switchMode = (next) => {
    setJsonProblem(null);
    if (next === 'json') {
      setJson(JSON.stringify(preprocessingOf(form), null, 2));
      setMode('json');
      return;
    }
    try {
      const parsed = JSON.parse(json);
      setForm({
        batched_output: parsed.batched_output !== false,
        inputs: parsed.inputs.map((entry) => ({
          tensor_name: entry.tensor_name || '',
          image: { ...fields.defaults, mean_file: '', ...entry.image },
        })),
      });
      setMode('form');
    } catch (failure) {
      setJsonProblem(
        `This JSON cannot be shown as the form (${failure.message}); fix it or keep editing it here.`,
      );
    }
  };

  const submit = async (event) => {
    event.preventDefault();
    setErrors({});
    setError(null);
    const body = new FormData();
    body.append('name', name);
    body.append('description', description);
    body.append('metadata', metadata.trim() || '{}');
    body.append('framework', framework);
    body.append('preprocessing', mode === 'json' ? json : JSON.stringify(preprocessingOf(form)));
    for (const file of files) body.append(file.name, file, file.name);
    setProgress({ sent: 0, total: 1 });
    try {
      const network = await upload('/networks', body, (sent, total) => setProgress({ sent, total }));
      location.hash = `#/networks/${network.id}`;
    } catch (failure) {
      setProgress(null);
      setError(failure);
      setErrors(failure.fields || {});
    }
  };

  const preprocessingErrors = Object.entries(errors).filter(([key]) => key.startsWith('preprocessing'));
  const unplaced = preprocessingErrors.filter(
    ([key]) => mode === 'json' || !/^preprocessing\.inputs\[\d+\]\.(tensor_name|image\.\w+)$/.test(key),
  );

  return (
    <>
      <h1 tabIndex={-1}>New network</h1>
      <form onSubmit={submit} noValidate>
        <ErrorBox error={error} />
        <TextField id="name" label="Name" value={name} onInput={setName} error={errors.name} required />
        <label for="description">
          Description
          <textarea
            id="description"
            rows={2}
            value={description}
            onInput={(e) => setDescription(e.currentTarget.value)}
          />
          <FieldError id="description-error" message={errors.description} />
        </label>
        <label for="metadata">
          Metadata (JSON object)
          <textarea
            id="metadata"
            rows={2}
            class="code"
            value={metadata}
            onInput={(e) => setMetadata(e.currentTarget.value)}
            aria-invalid={errors.metadata ? 'true' : undefined}
            aria-describedby={errors.metadata ? 'metadata-error' : undefined}
          />
          <FieldError id="metadata-error" message={errors.metadata} />
        </label>
        <Select
          id="framework"
          label="Framework"
          value={framework}
          choices={fields.frameworks}
          onChange={setFramework}
          error={errors.framework}
        />
        <FileDrop files={files} setFiles={setFiles} errors={errors} framework={framework} />

        <fieldset>
          <legend>Preprocessing</legend>
          <div role="radiogroup" aria-label="Describe the preprocessing with" class="mode">
            <label>
              <input type="radio" name="mode" checked={mode === 'form'} onChange={() => switchMode('form')} />
              Form
            </label>
            <label>
              <input type="radio" name="mode" checked={mode === 'json'} onChange={() => switchMode('json')} />
              JSON
            </label>
          </div>
          {jsonProblem && (
            <p class="error" role="alert">
              {jsonProblem}
            </p>
          )}
          {mode === 'form' ? (
            <>
              {form.inputs.map((entry, index) => (
                <InputFields
                  key={index}
                  index={index}
                  entry={entry}
                  fields={fields}
                  meanFiles={meanFiles}
                  errors={errors}
                  onChange={(changed) =>
                    setForm({
                      ...form,
                      inputs: form.inputs.map((other, i) => (i === index ? changed : other)),
                    })
                  }
                  onRemove={
                    form.inputs.length > 1
                      ? () => setForm({ ...form, inputs: form.inputs.filter((_, i) => i !== index) })
                      : null
                  }
                />
              ))}
              <button
                type="button"
                class="secondary outline"
                onClick={() => setForm({ ...form, inputs: [...form.inputs, newInput(fields.defaults)] })}
              >
                Add an input
              </button>
              <label for="batched_output">
                <input
                  id="batched_output"
                  type="checkbox"
                  role="switch"
                  checked={form.batched_output}
                  onChange={(e) => setForm({ ...form, batched_output: e.currentTarget.checked })}
                />
                Batched output (the first dimension of every output is the batch)
              </label>
            </>
          ) : (
            <label for="preprocessing-json">
              Preprocessing (JSON)
              <textarea
                id="preprocessing-json"
                rows={14}
                class="code"
                value={json}
                onInput={(e) => setJson(e.currentTarget.value)}
                aria-invalid={unplaced.length ? 'true' : undefined}
                aria-describedby={unplaced.length ? 'preprocessing-error' : undefined}
              />
            </label>
          )}
          {unplaced.length > 0 && (
            <small id="preprocessing-error" class="field-error" role="alert">
              {unplaced.map(([key, message]) => `${key}: ${message}`).join('; ')}
            </small>
          )}
        </fieldset>

        {progress && (
          <div class="upload">
            <label for="upload-progress">
              {progress.sent < progress.total
                ? `Uploading ${Math.floor((100 * progress.sent) / progress.total)}%`
                : 'Uploaded; the server is storing the files…'}
            </label>
            <progress id="upload-progress" value={progress.sent} max={progress.total} />
          </div>
        )}
        <button type="submit" disabled={Boolean(progress)} aria-busy={progress ? 'true' : undefined}>
          Create and deploy
        </button>
      </form>
    </>
  );
}
