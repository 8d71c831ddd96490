"""The MLServer runtime a user would write: a custom ``MLModel`` whose ``predict`` decodes
the JPEGs of a (possibly adaptively batched) V2 request and runs them as one batch.

Request: one input ``image``, datatype BYTES, shape ``[n]``, ``content_type: base64``, each
element a base64 JPEG. Answer: the output tensor (e.g. ``prob``) with its first dimension n.
MLServer's adaptive batching (``max_batch_size``, ``max_batch_time`` in model-settings.json)
concatenates concurrent requests along that dimension and splits the answer back.
"""

from __future__ import annotations

import numpy as np
from mlserver import MLModel
from mlserver.codecs import Base64Codec, NumpyCodec
from mlserver.types import InferenceRequest, InferenceResponse
from opencv_model import ImageModel


class OpenCVImageModel(MLModel):
    async def load(self) -> bool:
        # The network and its preprocessing: ``parameters.extra`` of model-settings.json.
        self.model = ImageModel(self.settings.parameters.extra)
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        jpegs = Base64Codec.decode_input(payload.inputs[0])
        batch = np.stack([self.model.preprocess(jpeg) for jpeg in jpegs])
        outputs = self.model.forward(batch)
        return InferenceResponse(
            model_name=self.name,
            outputs=[NumpyCodec.encode_output(self.model.output_name, outputs)],
        )
