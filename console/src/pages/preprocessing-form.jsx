// The preprocessing of a new network as a form: one fieldset per network input, each field
// with the values the API allows.

import { Select, TextField } from './fields.jsx';

/** Allowed values and defaults of the preprocessing fields, as the API's OpenAPI document
 *  states them. */
export function imageFieldsOf(document) {
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

export function newInput(defaults) {
  return {
    tensor_name: 'data',
    image: { target_size: '224x224', mean_file: '', ...defaults },
  };
}

/** The preprocessing object the form describes. */
export function preprocessingOf(form) {
  return {
    inputs: form.inputs.map((entry) => {
      const image = { ...entry.image, pixel_scaling: Number(entry.image.pixel_scaling) };
      if (!image.mean_file) delete image.mean_file;
      return { tensor_name: entry.tensor_name, image };
    }),
    batched_output: form.batched_output,
  };
}
export function InputFields({ index, entry, fields, meanFiles, errors, onChange, onRemove }) {
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
