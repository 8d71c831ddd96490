"""Networks: create, list, retrieve, update, delete, and run inference."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

import numpy as np

from vulcain.client._http import HTTPSession
from vulcain.client._inputs import ImageInput, inference_body
from vulcain.client._tasks import LONG_POLL_SECONDS, NPZ, Task
from vulcain.client._upload import FilesArgument, open_network_files

CREATE_TIMEOUT = 3600.0
"""Read timeout of a network upload: the server answers once every byte is stored."""


class Network:
    """A network as last fetched. Fields are attributes (``network.name``) and items
    (``network["name"]``); ``public_id`` is its slug once published.

    A network fetched through the public paths (``list(public=True)``, ``retrieve(slug)``)
    has its slug as ``id`` and every request on it (refresh, update, delete, inference)
    goes to ``/networks/public/{slug}``; one of yours fetched by its integer id stays on
    ``/networks/{id}``."""

    def __init__(
        self, session: HTTPSession, data: dict[str, Any], public_id: str | None = None
    ) -> None:
        self._session = session
        self.data = data
        self.public_id = public_id or data.get("public_id")
        self._public = public_id is not None or isinstance(data.get("id"), str)

    @property
    def id(self) -> int | str:
        """The integer id of one of yours; the slug of a network fetched as a public one."""
        value = self.data["id"]
        return value if isinstance(value, str) else int(value)

    @property
    def name(self) -> str | None:
        return self.data.get("name")

    @property
    def description(self) -> str | None:
        return self.data.get("description")

    @property
    def metadata(self) -> dict[str, Any] | None:
        return self.data.get("metadata")

    @property
    def framework(self) -> str | None:
        return self.data.get("framework")

    @property
    def preprocessing(self) -> dict[str, Any] | None:
        return self.data.get("preprocessing")

    @property
    def task_id(self) -> int | None:
        return self.data.get("task_id")

    @property
    def create_date(self) -> str | None:
        return self.data.get("create_date")

    @property
    def update_date(self) -> str | None:
        return self.data.get("update_date")

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def __repr__(self) -> str:
        return f"<Network {self.id} {self.name!r} {self.framework}>"

    @property
    def _path(self) -> str:
        if self._public:
            return f"/networks/public/{quote(str(self.public_id or self.id), safe='')}"
        return f"/networks/{self.id}"

    @property
    def _inference_path(self) -> str:
        return f"{self._path}/inference"

    def refresh(self) -> Network:
        """Fetch the network again."""
        self.data = self._session.get(self._path)
        return self

    def update(
        self,
        *,
        name: str | None = None,
        description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Network:
        """Change the name, description or metadata (the others are immutable)."""
        changes: dict[str, Any] = {"name": name, "description": description}
        changes["metadata"] = dict(metadata) if metadata is not None else None
        body = {key: value for key, value in changes.items() if value is not None}
        self.data = self._session.patch(self._path, json=body)
        return self

    def delete(self) -> None:
        """Delete the network and, when no other network shares them, its files."""
        self._session.delete(self._path)

    def deployment(self) -> Task:
        """The task deploying this network."""
        return Task(self._session, self._session.get(f"/tasks/{self.task_id}"))

    def start_inference(self, inputs: Sequence[ImageInput], output_tensors: Sequence[str]) -> Task:
        """Submit an inference and return its task without waiting for it."""
        answer = self._session.post(self._inference_path, **inference_body(inputs, output_tensors))
        return Task(self._session, {"id": answer["task_id"], "status": "pending"})

    def inference(
        self,
        inputs: Sequence[ImageInput],
        output_tensors: Sequence[str],
        *,
        timeout: float | None = 60.0,
    ) -> dict[str, np.ndarray]:
        """Run the network on ``inputs`` (one :class:`ImageInput` per preprocessing input)
        and return the requested tensors by name as float32 arrays of their ``shape``.

        One request: the server holds it until the task ends (``?wait=``) and answers with
        the task. A task still pending then, or a server that answers with its id only, is
        followed with :meth:`Task.wait`.

        Raise :class:`ClientError` for a request the server refuses at once (no inputs,
        unknown tensor), :class:`TaskError` when the inference fails (unreadable image)
        and :class:`TaskTimeout` after ``timeout`` seconds.
        """
        started = time.monotonic()
        wait = LONG_POLL_SECONDS if timeout is None else min(timeout, LONG_POLL_SECONDS)
        response = self._session.request(
            "POST",
            self._inference_path,
            params={"wait": f"{wait:g}"},
            timeout=wait + 30.0,
            headers={"Accept": f"{NPZ}, application/json;q=0.5"},
            **inference_body(inputs, output_tensors),
        )
        task = Task(self._session, {"status": "pending"})
        task.answered(response)
        if "task_id" in task.data_dict:  # a server without one-request inference
            task.data_dict = {"id": task.data_dict["task_id"], "status": "pending"}
        remaining = None if timeout is None else max(0.0, timeout - (time.monotonic() - started))
        return task.wait(timeout=remaining, arrays=True).tensors()


class Networks:
    """``client.Network``: create, list and retrieve networks."""

    def __init__(self, session: HTTPSession) -> None:
        self._session = session

    def create(
        self,
        *,
        name: str,
        framework: str,
        preprocessing: Mapping[str, Any],
        files: FilesArgument,
        description: str = "",
        metadata: Mapping[str, Any] | None = None,
        progress: bool | None = None,
    ) -> Network:
        """Upload a network and return it; its deployment runs as task ``network.task_id``.

        ``files`` maps each upload name (``deploy.prototxt``, ``snapshot.caffemodel``,
        ``saved_model.pb``, ``model.onnx``, mean files) to a path or an open binary file.
        Files are streamed from disk. ``progress`` draws a bar on stderr (``None``: only
        for large uploads on a terminal). The request is sent once and never retried, so a
        network is never created twice.
        """
        data = {
            "name": name,
            "framework": framework,
            "description": description,
            "metadata": json.dumps(dict(metadata or {})),
            "preprocessing": json.dumps(dict(preprocessing)),
        }
        with open_network_files(files, progress=progress) as parts:
            answer = self._session.post(
                "/networks", data=data, files=parts, timeout=CREATE_TIMEOUT, retry=False
            )
        return Network(self._session, answer)

    def list(self, public: bool = False, *, page_size: int | None = None) -> Iterator[Network]:
        """Iterate over your networks (or the public ones), fetching page after page of
        ``page_size`` networks (the server's default when ``None``)."""
        path = "/networks/public" if public else "/networks"
        params = {"limit": page_size} if page_size else None
        for item in self._session.iter_results(path, params):
            yield Network(self._session, item, public_id=item.get("public_id") if public else None)

    def retrieve(self, network_id: int | str) -> Network:
        """Fetch one network: an ``int`` is one of yours, a ``str`` is a public slug."""
        if isinstance(network_id, str):
            data = self._session.get(f"/networks/public/{quote(network_id, safe='')}")
            return Network(self._session, data, public_id=network_id)
        return Network(self._session, self._session.get(f"/networks/{int(network_id)}"))
