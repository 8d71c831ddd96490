// The image sent to an inference: a file or a URL, optionally a region of it, and what
// it becomes in a request body. Shared by networks and recognition specs.

import { useEffect, useState } from 'preact/hooks';

import { FieldError } from './common.jsx';
import { CORNERS, ImageWithBox } from './image-with-box.jsx';

/** The state of the image fields. */
export function useImageChoice() {
  const [source, setSource] = useState('file');
  const [file, setFile] = useState(null);
  const [preview, setPreview] = useState(null);
  const [url, setUrl] = useState('');
  const [useBox, setUseBox] = useState(false);
  const [box, setBox] = useState({ xmin: 0, ymin: 0, xmax: 1, ymax: 1 });
  useEffect(() => {
    if (!file) return setPreview(null);
    const objectUrl = URL.createObjectURL(file);
    setPreview(objectUrl);
    return () => URL.revokeObjectURL(objectUrl);
  }, [file]);
  return {
    source,
    setSource,
    file,
    setFile,
    url,
    setUrl,
    useBox,
    setUseBox,
    box,
    setBox,
    src: source === 'file' ? preview : url.trim() || null,
  };
}

/** The request body for the chosen image, the same for each of ``count`` inputs, plus
 *  ``fields`` (a list value repeats its field): form parts with an uploaded file, else JSON. */
export function imageBody(choice, count, fields) {
  const region = choice.useBox ? Object.fromEntries(CORNERS.map((c) => [c, Number(choice.box[c])])) : null;
  if (choice.source === 'file') {
    const form = new FormData();
    for (let index = 0; index < count; index++) {
      if (choice.file) form.append(`inputs[${index}]image.source`, choice.file, choice.file.name);
      if (region) {
        for (const corner of CORNERS)
          form.append(`inputs[${index}]image.bbox.${corner}`, String(region[corner]));
      }
    }
    for (const [name, value] of Object.entries(fields)) {
      for (const item of [].concat(value)) form.append(name, String(item));
    }
    return { form };
  }
  const image = { source: choice.url.trim() };
  if (region) image.bbox = region;
  return { json: { inputs: Array.from({ length: count }, () => ({ image })), ...fields } };
}

function round(value) {
  return Math.round(value * 1000) / 1000;
}

/** Upload or URL, with the server's sentence about the image. */
export function ImageSourceFields({ choice, errors }) {
  const sourceError = errors['inputs[0].image.source'] || errors['inputs'] || errors['inputs[0].image'];
  return (
    <>
      <div role="radiogroup" aria-label="Image source" class="mode">
        <label>
          <input
            type="radio"
            name="source"
            checked={choice.source === 'file'}
            onChange={() => choice.setSource('file')}
          />
          Upload a file
        </label>
        <label>
          <input
            type="radio"
            name="source"
            checked={choice.source === 'url'}
            onChange={() => choice.setSource('url')}
          />
          From a URL
        </label>
      </div>
      {choice.source === 'file' ? (
        <label for="image-file">
          Image file
          <input
            id="image-file"
            type="file"
            accept="image/*"
            onChange={(event) => choice.setFile(event.currentTarget.files[0] || null)}
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
            value={choice.url}
            onInput={(event) => choice.setUrl(event.currentTarget.value)}
            aria-describedby={sourceError ? 'image-error' : undefined}
          />
        </label>
      )}
      <FieldError id="image-error" message={sourceError} />
    </>
  );
}

/** The image, the region drawn on it or typed, and the ``found`` boxes of a result. */
export function ImageRegionFields({ choice, errors, found }) {
  const boxError = Object.entries(errors)
    .filter(([key]) => key.startsWith('inputs[0].image.bbox'))
    .map(([key, message]) => `${key.replace('inputs[0].image.bbox.', '')}: ${message}`)
    .join('; ');
  return (
    <>
      <label for="use-box">
        <input
          id="use-box"
          type="checkbox"
          role="switch"
          checked={choice.useBox}
          onChange={(event) => choice.setUseBox(event.currentTarget.checked)}
        />
        Only a region of the image (drag on the image, or type its corners as fractions of its size)
      </label>
      {choice.src && (
        <ImageWithBox
          src={choice.src}
          box={choice.useBox ? choice.box : null}
          found={found}
          onBox={(drawn) => {
            choice.setUseBox(true);
            choice.setBox(drawn);
          }}
        />
      )}
      {choice.useBox && (
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
                value={round(choice.box[corner])}
                onInput={(event) => choice.setBox({ ...choice.box, [corner]: event.currentTarget.value })}
              />
            </label>
          ))}
        </fieldset>
      )}
      <FieldError id="box-error" message={boxError} />
    </>
  );
}
