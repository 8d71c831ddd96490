// The network's files, dropped in or chosen.

import { useState } from 'preact/hooks';

const FILES_OF = {
  onnx: 'model.onnx',
  'tensorflow-1.x': 'saved_model.pb (or .pbtxt), variables.index, variables.data-00000-of-00001',
  'nv-caffe-0.x-mod': 'deploy.prototxt, snapshot.caffemodel',
};

export function FileDrop({ files, setFiles, errors, framework }) {
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
