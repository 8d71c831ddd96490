"""The model code a user would write for MLServer or Mosec: decode, preprocess, forward.

Runs inside a peer's virtualenv (numpy, OpenCV, onnxruntime only). The config (written by
benchmarks/_peers/servers.py from benchmarks/_networks.py) comes from MLServer's
model-settings ``parameters.extra`` or, for Mosec, the environment variable
``PEER_MODEL_CONFIG``, so both peers run exactly the same network with exactly Vulcain's
preprocessing for it:

- ``cv2.imdecode(IMREAD_COLOR)`` (BGR), RGB swap only when asked;
- SQUASH resize to the network input with ``cv2.resize(INTER_LINEAR)``;
- float32 times ``pixel_scaling / 255``, per-channel mean subtracted, laid out NCHW;
- forward: a Caffe network through OpenCV DNN (``cv2.dnn.readNetFromCaffe``), an ONNX one
  through onnxruntime on CPU, as Vulcain runs each framework.
"""

from __future__ import annotations

import json
import os

import cv2
import numpy as np

CONFIG_VARIABLE = "PEER_MODEL_CONFIG"


class ImageModel:
    def __init__(self, config: dict | None = None) -> None:
        config = config or json.loads(os.environ[CONFIG_VARIABLE])
        self.size = (int(config["width"]), int(config["height"]))
        self.scale = float(config["pixel_scaling"]) / 255.0
        self.mean = (
            np.asarray(config["mean"], dtype=np.float32).reshape(1, 1, 3)
            if config.get("mean") is not None
            else None
        )
        self.rgb = config.get("color_channels", "BGR") == "RGB"
        self.input_name = config["input"]
        self.output_name = config["output"]
        if config["kind"] == "caffe":
            self.net = cv2.dnn.readNetFromCaffe(config["prototxt"], config["caffemodel"])
            self.session = None
        else:
            import onnxruntime

            self.net = None
            self.session = onnxruntime.InferenceSession(
                config["onnx"], providers=["CPUExecutionProvider"]
            )

    def preprocess(self, jpeg: bytes) -> np.ndarray:
        """One image as a C x H x W float32 tensor."""
        image = cv2.imdecode(np.frombuffer(jpeg, dtype=np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError("not a decodable image")
        if self.rgb:
            image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        image = cv2.resize(image, self.size, interpolation=cv2.INTER_LINEAR)
        tensor = image.astype(np.float32)
        if self.scale != 1.0:
            tensor *= self.scale
        if self.mean is not None:
            tensor -= self.mean
        return np.ascontiguousarray(tensor.transpose(2, 0, 1))

    def forward(self, batch: np.ndarray) -> np.ndarray:
        """The output tensor for an N x C x H x W batch; its first dimension is N."""
        if self.net is not None:
            self.net.setInput(batch, self.input_name)
            return self.net.forward(self.output_name)
        return self.session.run([self.output_name], {self.input_name: batch})[0]
