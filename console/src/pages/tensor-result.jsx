import { useEffect, useRef, useState } from 'preact/hooks';

import { downloadFromApi, saveBlob } from '../download.js';
import { VIRIDIS_GRADIENT, mapLayout, paintHeatmap, squeezedShape, topK, viewOf } from '../tensors.js';

function safeName(name) {
  return name.replace(/[^\w.-]+/g, '_');
}

/** The k largest values of a vector, with their indices (and labels when there are some). */
export function TopK({ data, k, labels, caption }) {
  const best = topK(data, k);
  const largest = best.length ? Math.max(...best.map((entry) => Math.abs(entry.value))) || 1 : 1;
  return (
    <table class="topk" data-testid="topk">
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">Rank</th>
          <th scope="col">Index</th>
          {labels && <th scope="col">Label</th>}
          <th scope="col">Value</th>
        </tr>
      </thead>
      <tbody>
        {best.map((entry, rank) => (
          <tr key={entry.index}>
            <td>{rank + 1}</td>
            <td class="index">{entry.index}</td>
            {labels && <td class="label">{labels[entry.index] ?? ''}</td>}
            <td class="value">
              <span
                class="bar"
                style={{ width: `${(100 * Math.abs(entry.value)) / largest}%` }}
                aria-hidden="true"
              />
              <span class="number">{entry.value.toPrecision(6)}</span>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** A 2D map, or one channel (or the largest over channels) of a 3D one, as a heat-map. */
function Heatmap({ tensor, id }) {
  const dims = squeezedShape(tensor.shape);
  const threeD = dims.length >= 3;
  const last = dims[dims.length - 1];
  const [channelsLast, setChannelsLast] = useState(threeD && last < dims[dims.length - 3]);
  const [channel, setChannel] = useState('max');
  const canvas = useRef(null);
  const [range, setRange] = useState(null);
  const layout = mapLayout(tensor.shape, channelsLast);

  useEffect(() => {
    const chosen = channel === 'max' || Number(channel) < layout.channels ? channel : 'max';
    setRange(paintHeatmap(canvas.current, tensor.data, layout, chosen === 'max' ? 'max' : Number(chosen)));
  }, [tensor, channelsLast, channel]);

  return (
    <figure class="heatmap">
      {threeD && (
        <div class="grid">
          <div>
            <label for={`${id}-axis`}>Channel axis</label>
            <select
              id={`${id}-axis`}
              value={channelsLast ? 'last' : 'first'}
              onChange={(e) => setChannelsLast(e.currentTarget.value === 'last')}
            >
              <option value="first">first (C×H×W)</option>
              <option value="last">last (H×W×C)</option>
            </select>
          </div>
          <div>
            <label for={`${id}-channel`}>Channel</label>
            <select id={`${id}-channel`} value={channel} onChange={(e) => setChannel(e.currentTarget.value)}>
              <option value="max">largest over the {layout.channels} channels</option>
              {Array.from({ length: layout.channels }, (_, c) => (
                <option key={c} value={String(c)}>
                  {c}
                </option>
              ))}
            </select>
          </div>
        </div>
      )}
      <canvas
        ref={canvas}
        role="img"
        aria-label={`Heat-map of ${tensor.name}, ${layout.height}×${layout.width}`}
      />
      {range && (
        <figcaption>
          <span class="scale" style={{ background: VIRIDIS_GRADIENT }} aria-hidden="true" />
          <span>
            {range.min.toPrecision(4)} … {range.max.toPrecision(4)} ({layout.height}×{layout.width})
          </span>
        </figcaption>
      )}
    </figure>
  );
}

export function TensorResult({ tensor, k, taskId, labels, onError }) {
  const view = viewOf(tensor.shape);
  const id = `tensor-${safeName(tensor.name)}`;
  const base = `task-${taskId}-${safeName(tensor.name)}`;
  return (
    <article class="tensor" data-testid="tensor" data-name={tensor.name}>
      <header>
        <strong>
          <code>{tensor.name}</code>
        </strong>{' '}
        · shape [{tensor.shape.join(', ')}] · {tensor.data.length} values
      </header>
      {view === 'vector' && (
        <TopK
          data={tensor.data}
          k={k}
          labels={labels}
          caption={`Top ${Math.min(k, tensor.data.length)} of ${tensor.name}`}
        />
      )}
      {view === 'map' && <Heatmap tensor={tensor} id={id} />}
      {view === 'raw' && (
        <p>This tensor has more than three axes past the batch; download it to look at it.</p>
      )}
      <footer class="downloads">
        <button
          type="button"
          class="secondary outline"
          onClick={() =>
            downloadFromApi(
              `/tasks/${taskId}/tensors/${encodeURIComponent(tensor.name)}.npy`,
              `${base}.npy`,
              'application/x-npy',
            ).catch(onError)
          }
        >
          Download .npy
        </button>
        <button
          type="button"
          class="secondary outline"
          onClick={() =>
            saveBlob(`${base}.json`, new Blob([JSON.stringify(tensor)], { type: 'application/json' }))
          }
        >
          Download JSON
        </button>
      </footer>
    </article>
  );
}
