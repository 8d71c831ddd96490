// Labels for a network's vector outputs, from the recognition versions that read them: a
// classification post-processing scores the labels of its spec's output by position, so
// value i of its output tensor is labels[i].

import { api } from './api.js';

/** ``{tensor name: [label name, ...]}`` for network ``networkId`` from your recognition
 *  versions (the first version found for a tensor wins). */
export async function labelsByTensor(networkId) {
  const versions = await api('GET', '/recognition/versions', { query: { limit: 1000 } });
  const found = {};
  const specs = {};
  for (const version of versions.results) {
    if (version.network_id !== networkId) continue;
    for (const [index, step] of version.post_processings.entries()) {
      const tensor = step.classification && step.classification.output_tensor;
      if (!tensor || found[tensor]) continue;
      specs[version.spec_id] =
        specs[version.spec_id] || (await api('GET', `/recognition/specs/${version.spec_id}`));
      const output = specs[version.spec_id].outputs[index];
      if (output) found[tensor] = output.labels.labels.map((label) => label.name);
    }
  }
  return found;
}
