"""The Mosec service a user would write: a decode + preprocess stage, then a batched
forward stage (``max_batch_size=8, max_wait_time=5`` ms), as in Mosec's own examples.

Run with the peer's python: ``python mosec_app.py --address 127.0.0.1 --port N``, with
``PEER_MODEL_CONFIG`` set (see opencv_model.py). ``POST /inference`` takes the JSON body
``{"image": "<base64 JPEG>"}`` and answers ``{"name", "shape", "data"}``, ``data`` the
output tensor of that image flattened row-major, batch dimension (1) included. Stages pass
numpy arrays to each other with Mosec's default IPC (pickle).
"""

from __future__ import annotations

import base64
import os

import numpy as np
from mosec import Server, Worker
from opencv_model import ImageModel

MAX_BATCH_SIZE = int(os.environ.get("PEER_MAX_BATCH_SIZE", "8"))
MAX_WAIT_MS = int(os.environ.get("PEER_MAX_WAIT_MS", "5"))
PREPROCESS_WORKERS = int(os.environ.get("PEER_PREPROCESS_WORKERS", "2"))


class Preprocess(Worker):
    def __init__(self) -> None:
        super().__init__()
        self.model = ImageModel()

    def forward(self, data: dict) -> np.ndarray:
        return self.model.preprocess(base64.b64decode(data["image"]))


class Inference(Worker):
    def __init__(self) -> None:
        super().__init__()
        self.model = ImageModel()

    def forward(self, data: list[np.ndarray]) -> list[dict]:
        outputs = self.model.forward(np.stack(data))
        return [
            {
                "name": self.model.output_name,
                "shape": [1, *row.shape],
                "data": row.ravel().tolist(),
            }
            for row in outputs
        ]


if __name__ == "__main__":
    server = Server()
    server.append_worker(Preprocess, num=PREPROCESS_WORKERS)
    server.append_worker(Inference, max_batch_size=MAX_BATCH_SIZE, max_wait_time=MAX_WAIT_MS)
    server.run()
