"""Python client of the Vulcain Networks API (v0.7).

>>> from vulcain.client import Client, ImageInput
>>> client = Client()  # VULCAIN_API_KEY and VULCAIN_URL
>>> network = client.Network.retrieve(42)
>>> network.inference(inputs=[ImageInput("https://example.com/dog.jpg")], output_tensors=["prob"])
>>> client.RecognitionVersion.retrieve(7).inference([ImageInput("https://example.com/dog.jpg")])
"""

from __future__ import annotations

from vulcain.client._client import Client
from vulcain.client._exceptions import (
    ClientError,
    CredentialsNotFound,
    HTTPStatusError,
    ServerError,
    TaskError,
    TaskTimeout,
    TransportError,
    VulcainException,
)
from vulcain.client._inputs import ImageInput
from vulcain.client._networks import Network, Networks
from vulcain.client._recognition import (
    RecognitionSpec,
    RecognitionSpecs,
    RecognitionVersion,
    RecognitionVersions,
)
from vulcain.client._tasks import Task, Tasks

__all__ = [
    "Client",
    "ClientError",
    "CredentialsNotFound",
    "HTTPStatusError",
    "ImageInput",
    "Network",
    "Networks",
    "RecognitionSpec",
    "RecognitionSpecs",
    "RecognitionVersion",
    "RecognitionVersions",
    "ServerError",
    "Task",
    "TaskError",
    "TaskTimeout",
    "Tasks",
    "TransportError",
    "VulcainException",
]

for _name in __all__:
    globals()[_name].__module__ = "vulcain.client"
del _name
