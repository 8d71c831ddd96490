// A tensor as a NumPy .npy file (format 1.0, little-endian float32, C order), the format
// numpy.load reads: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0];

/** The bytes of a .npy file holding ``data`` (numbers in row-major order) of ``shape``. */
export function npyBytes(shape, data) {
  const dims = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${dims}, }`;
  // The header ends with a newline and pads the preamble to a multiple of 64 bytes.
  const unpadded = MAGIC.length + 2 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const values = Float32Array.from(data);
  const bytes = new Uint8Array(MAGIC.length + 2 + header.length + values.byteLength);
  bytes.set(MAGIC, 0);
  new DataView(bytes.buffer).setUint16(MAGIC.length, header.length, true);
  for (let i = 0; i < header.length; i++) bytes[MAGIC.length + 2 + i] = header.charCodeAt(i);
  const body = new DataView(bytes.buffer, MAGIC.length + 2 + header.length);
  values.forEach((value, i) => body.setFloat32(i * 4, value, true));
  return bytes;
}

/** Offer ``bytes`` to the user as a file named ``name``. */
export function download(name, bytes, type) {
  const url = URL.createObjectURL(new Blob([bytes], { type }));
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
