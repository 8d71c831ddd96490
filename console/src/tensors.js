// How a tensor of an inference task is shown: a vector as its top-k values, a 2D or 3D
// tensor as a heat-map.

/** The shape without its leading axes of size 1 (the batch of one image, mostly). */
export function squeezedShape(shape) {
  const dims = [...shape];
  while (dims.length > 1 && dims[0] === 1) dims.shift();
  return dims;
}

/** How to show a tensor of this shape: 'vector', 'map' (2D or 3D) or 'raw'. */
export function viewOf(shape) {
  const dims = squeezedShape(shape);
  if (dims.length === 1) return 'vector';
  if (dims.length === 2 && (dims[0] === 1 || dims[1] === 1)) return 'vector';
  if (dims.length === 2 || dims.length === 3) return 'map';
  if (dims.length === 4 && dims[0] === 1) return 'map';
  return 'raw';
}

/** The ``k`` largest values with their indices, largest first. */
export function topK(data, k) {
  const order = Array.from(data, (value, index) => index);
  order.sort((a, b) => data[b] - data[a] || a - b);
  return order.slice(0, k).map((index) => ({ index, value: data[index] }));
}

/** For a map: its height, width, channel count and the value at (channel, y, x). */
export function mapLayout(shape, channelsLast) {
  const dims = squeezedShape(shape).filter((d, i, all) => !(all.length === 4 && i === 0));
  if (dims.length === 2) {
    const [height, width] = dims;
    return { height, width, channels: 1, at: (c, y, x) => y * width + x };
  }
  if (channelsLast) {
    const [height, width, channels] = dims;
    return { height, width, channels, at: (c, y, x) => (y * width + x) * channels + c };
  }
  const [channels, height, width] = dims;
  return { height, width, channels, at: (c, y, x) => (c * height + y) * width + x };
}

// Viridis at 9 stops (matplotlib's), interpolated linearly.
const VIRIDIS = [
  [68, 1, 84],
  [71, 44, 122],
  [59, 81, 139],
  [44, 113, 142],
  [33, 144, 141],
  [39, 173, 129],
  [92, 200, 99],
  [170, 220, 50],
  [253, 231, 37],
];

function viridis(t) {
  const position = Math.min(Math.max(t, 0), 1) * (VIRIDIS.length - 1);
  const low = Math.floor(position);
  const high = Math.min(low + 1, VIRIDIS.length - 1);
  const f = position - low;
  return VIRIDIS[low].map((c, i) => Math.round(c + (VIRIDIS[high][i] - c) * f));
}

/** Paint channel ``channel`` of the map (or the largest value over channels when ``channel``
 *  is 'max') on ``canvas``, scaled to the values' range; returns that range. */
export function paintHeatmap(canvas, data, layout, channel) {
  const { height, width, channels, at } = layout;
  const values = new Float32Array(height * width);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let value;
      if (channel === 'max') {
        value = -Infinity;
        for (let c = 0; c < channels; c++) value = Math.max(value, data[at(c, y, x)]);
      } else {
        value = data[at(channel, y, x)];
      }
      values[y * width + x] = value;
    }
  }
  let min = Infinity;
  let max = -Infinity;
  for (const value of values) {
    if (value < min) min = value;
    if (value > max) max = value;
  }
  const span = max - min || 1;
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext('2d');
  const image = context.createImageData(width, height);
  values.forEach((value, i) => {
    const [r, g, b] = viridis((value - min) / span);
    image.data.set([r, g, b, 255], i * 4);
  });
  context.putImageData(image, 0, 0);
  return { min, max };
}

export const VIRIDIS_GRADIENT = `linear-gradient(to right, ${VIRIDIS.map((c) => `rgb(${c.join(',')})`).join(', ')})`;
