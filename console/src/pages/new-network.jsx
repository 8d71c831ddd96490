import { useEffect, useState } from 'preact/hooks';

import { openapi, upload } from '../api.js';
import { ErrorBox, FieldError } from './common.jsx';

const FILES_OF = {
  onnx: 'model.onnx',
  'tensorflow-1.x': 'saved_model.pb (or .pbtxt), variables.index, variables.data-00000-of-00001',
  'nv-caffe-0.x-mod': 'deploy.prototxt, snapshot.caffemodel',
};
const MEAN_FILE = /\.(npy|binaryproto)$/;

/** Allowed values and defaults of the preprocessing fields, as the API's OpenAPI document
 *  states them. */
function imageFieldsOf(document) {
  const properties = document.components.schemas.ImagePreprocessing.properties;
  const choices = {};
  const defaults = {};
  for (const [name, property] of Object.entries(properties)) {
    if (property.enum) choices[name] = property.enum;
    if (property.default !== undefined && property.default !== null) defaults[name] = property.default;
  }
  const frameworks = document.components.schemas.NetworkCreate.properties.framework.enum;
  return { choices, defaults, frameworks };
}

function newInput(defaults) {
  return {
    tensor_name: 'data',
    image: { target_size: '224x224', mean_file: '', ...defaults },
  };
}

/** The preprocessing object the form describes. */
function preprocessingOf(form) {
  return {
    inputs: form.inputs.map((entry) => {
      const image = { ...entry.image, pixel_scaling: Number(entry.image.pixel_scaling) };
      if (!image.mean_file) delete image.mean_file;
      return { tensor_name: entry.tensor_name, image };
    }),
    batched_output: form.batched_output,
  };
}

function Select({ id, label, value, choices, onChange, error }) {
  return (
    <div>
      <label for={id}>{label}</label>
      <select
        id={id}
        value={value}
        onChange={(event) => onChange(event.currentTarget.value)}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={error ? `${id}-error` : undefined}
      >
        {choices.map((choice) => (
          <option key={choice} value={choice}>
            {choice === '' ? 'none' : choice}
          </option>
        ))}
      </select>
      <FieldError id={`${id}-error`} message={error} />
    </div>
  );
}

function TextField({ id, label, value, onInput, error, hint, ...rest }) {
  const described = [hint && `${id}-hint`, error && `${id}-error`].filter(Boolean).join(' ');
  return (
    <label for={id}>
      {label}
      <input
        id={id}
        value={value}
        onInput={(event) => onInput(event.currentTarget.value)}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={described || undefined}
        {...rest}
      />
      {hint && <small id={`${id}-hint`}>{hint}</small>}
      <FieldError id={`${id}-error`} message={error} />
    </label>
  );
}

function InputFields({ index, entry, fields, meanFiles, errors, onChange, onRemove }) {
  const key = `preprocessing.inputs[${index}]`;
  const id = (name) => `input-${index}-${name}`;
  const setImage = (name) => (value) => onChange({ ...entry, image: { ...entry.image, [name]: value } });
  return (
    <fieldset class="input-entry">
      <legend>Input {index + 1}</legend>
      <TextField
        id={id('tensor_name')}
        label="Tensor name"
        value={entry.tensor_name}
        onInput={(value) => onChange({ ...entry, tensor_name: value })}
        error={errors[`${key}.tensor_name`]}
        hint="The network input this image feeds."
        required
      />
      <div class="grid">
        <TextField
          id={id('target_size')}
          label="Target size"
          value={entry.image.target_size}
          onInput={setImage('target_size')}
          error={errors[`${key}.image.target_size`]}
          hint="WxH, e.g. 224x224, or one side N"
          required
        />
        <TextField
          id={id('pixel_scaling')}
          label="Pixel scaling"
          type="number"
          step="any"
          min="0"
          value={entry.image.pixel_scaling}
          onInput={setImage('pixel_scaling')}
          error={errors[`${key}.image.pixel_scaling`]}
          hint="Pixels are scaled to [0, pixel scaling]"
        />
      </div>
      <div class="grid">
        {['dimension_order', 'resize_type', 'color_channels', 'data_type'].map((name) => (
          <Select
            key={name}
            id={id(name)}
            label={name.replace('_', ' ').replace(/^./, (c) => c.toUpperCase())}
            value={entry.image[name]}
            choices={fields.choices[name]}
            onChange={setImage(name)}
            error={errors[`${key}.image.${name}`]}
          />
        ))}
      </div>
      <Select
        id={id('mean_file')}
        label="Mean file (one of the files above)"
        value={entry.image.mean_file}
        choices={['', ...meanFiles]}
        onChange={setImage('mean_file')}
        error={errors[`${key}.image.mean_file`]}
      />
      {onRemove && (
        <button type="button" class="secondary outline" onClick={onRemove}>
          Remove input {index + 1}
        </button>
      )}
    </fieldset>
  );
}

function FileDrop({ files, setFiles, errors, framework }) {
  const [over, setOver] = useState(false);
  const add = (list) => {
    const byName = new Map(files.map((file) => [file.name, file]));
    for (const file of list) byName.set(file.name, file);
    setFiles([...byName.values()]);
  };
  const fileErrors = Object.entries(errors).filter(([key]) => key === 'files' || key.startsWith('files.'));
  return (
    <fieldset>
      <legend>Files</legend>
      <p id="files-help">
        <small>
          {framework} needs {FILES_OF[framework] || 'the files the README lists'}; mean files (.npy,
          .binaryproto) are optional.
        </small>
      </p>
      <div
        class={`dropzone${over ? ' over' : ''}`}
        data-testid="dropzone"
        onDragOver={(event) => {
          event.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={(event) => {
          event.preventDefault();
          setOver(false);
          add(event.dataTransfer.files);
        }}
      >
        <label for="files">Drop the network's files here, or choose them</label>
        <input
          id="files"
          type="file"
          multiple
          onChange={(event) => {
            add(event.currentTarget.files);
            event.currentTarget.value = '';
          }}
          aria-describedby={fileErrors.length ? 'files-help files-error' : 'files-help'}
        />
      </div>
      {files.length > 0 && (
        <ul class="file-list" aria-label="Chosen files">
          {files.map((file) => (
            <li key={file.name}>
              <code>{file.name}</code> <small>({(file.size / 1024).toFixed(1)} KiB)</small>
              {errors[`files.${file.name}`] && (
                <small class="field-error"> {errors[`files.${file.name}`]}</small>
              )}
              <button
                type="button"
                class="secondary outline small"
                aria-label={`Remove ${file.name}`}
                onClick={() => setFiles(files.filter((other) => other !== file))}
              >
                Remove
              </button>
            </li>
          ))}
        </ul>
      )}
      {fileErrors.length > 0 && (
        <small id="files-error" class="field-error" role="alert">
          {fileErrors.map(([key, message]) => `${key}: ${message}`).join('; ')}
        </small>
      )}
    </fieldset>
  );
}

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
