"""Recognition specs and versions: labels, scores and boxes instead of raw tensors."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from vulcain.client._http import HTTPSession
from vulcain.client._inputs import ImageInput, inference_body
from vulcain.client._tasks import LONG_POLL_SECONDS, Task

_UNCHANGED: Any = object()


def _recognise(
    session: HTTPSession,
    path: str,
    inputs: Sequence[ImageInput],
    show_discarded: bool,
    max_predictions: int,
    timeout: float | None,
) -> dict[str, Any]:
    """POST an inference to ``path`` held by the server up to the long-poll, then follow
    its task; the task's data: ``{"outputs": [{"labels": {"predicted", "discarded"}}]}``."""
    started = time.monotonic()
    wait = LONG_POLL_SECONDS if timeout is None else min(timeout, LONG_POLL_SECONDS)
    options = {"show_discarded": show_discarded, "max_predictions": max_predictions}
    response = session.request(
        "POST",
        path,
        params={"wait": f"{wait:g}"},
        timeout=wait + 30.0,
        **inference_body(inputs, None, options),
    )
    task = Task(session, {"status": "pending"})
    task.answered(response)
    if "task_id" in task.data_dict:  # a server that answers with the task id only
        task.data_dict = {"id": task.data_dict["task_id"], "status": "pending"}
    remaining = None if timeout is None else max(0.0, timeout - (time.monotonic() - started))
    data: dict[str, Any] = task.wait(timeout=remaining).data
    return data


class RecognitionSpec:
    """A recognition specification as last fetched: the labels of each output. Fields are
    items (``spec["outputs"]``) and the attributes below. A spec fetched by its public
    slug has the slug as ``id`` and stays on ``/recognition/public/{slug}``."""

    def __init__(self, session: HTTPSession, data: dict[str, Any]) -> None:
        self._session = session
        self.data = data

    @property
    def id(self) -> int | str:
        value = self.data["id"]
        return value if isinstance(value, str) else int(value)

    @property
    def name(self) -> str | None:
        return self.data.get("name")

    @property
    def outputs(self) -> list[dict[str, Any]] | None:
        return self.data.get("outputs")

    @property
    def current_version_id(self) -> int | None:
        return self.data.get("current_version_id")

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def __repr__(self) -> str:
        return f"<RecognitionSpec {self.id} {self.name!r}>"

    @property
    def _path(self) -> str:
        if isinstance(self.id, str):
            return f"/recognition/public/{quote(self.id, safe='')}"
        return f"/recognition/specs/{self.id}"

    def refresh(self) -> RecognitionSpec:
        self.data = self._session.get(self._path)
        return self

    def update(
        self,
        *,
        name: str | None = None,
        description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        current_version_id: int | None = _UNCHANGED,
    ) -> RecognitionSpec:
        """Change the name, description, metadata or current version (``None``: none)."""
        changes: dict[str, Any] = {"name": name, "description": description}
        changes["metadata"] = dict(metadata) if metadata is not None else None
        body = {key: value for key, value in changes.items() if value is not None}
        if current_version_id is not _UNCHANGED:
            body["current_version_id"] = current_version_id
        self.data = self._session.patch(self._path, json=body)
        return self

    def delete(self) -> None:
        """Delete the spec and its versions."""
        self._session.delete(self._path)

    def versions(self) -> Iterator[RecognitionVersion]:
        """Iterate over the spec's versions."""
        for item in self._session.iter_results(f"{self._path}/versions"):
            yield RecognitionVersion(self._session, item)

    def inference(
        self,
        inputs: Sequence[ImageInput],
        *,
        show_discarded: bool = False,
        max_predictions: int = 100,
        timeout: float | None = 60.0,
    ) -> dict[str, Any]:
        """Recognise ``inputs`` with the spec's current version; see
        :meth:`RecognitionVersion.inference`."""
        path = f"{self._path}/inference"
        return _recognise(self._session, path, inputs, show_discarded, max_predictions, timeout)


class RecognitionVersion:
    """A recognition version: a spec bound to a network with a post-processing per
    output (immutable)."""

    def __init__(self, session: HTTPSession, data: dict[str, Any]) -> None:
        self._session = session
        self.data = data

    @property
    def id(self) -> int:
        return int(self.data["id"])

    @property
    def spec_id(self) -> int:
        return int(self.data["spec_id"])

    @property
    def network_id(self) -> int:
        return int(self.data["network_id"])

    @property
    def post_processings(self) -> list[dict[str, Any]]:
        return list(self.data.get("post_processings", []))

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def __repr__(self) -> str:
        return f"<RecognitionVersion {self.id} spec={self.spec_id} network={self.network_id}>"

    def refresh(self) -> RecognitionVersion:
        self.data = self._session.get(f"/recognition/versions/{self.id}")
        return self

    def delete(self) -> None:
        """Delete the version (a spec whose current version it was then has none)."""
        self._session.delete(f"/recognition/versions/{self.id}")

    def inference(
        self,
        inputs: Sequence[ImageInput],
        *,
        show_discarded: bool = False,
        max_predictions: int = 100,
        timeout: float | None = 60.0,
    ) -> dict[str, Any]:
        """Recognise ``inputs`` (one :class:`ImageInput` per input of the network) and
        return the task's data: for each output of the spec, ``{"labels": {"predicted":
        [...], "discarded": [...]}}``, each prediction with ``label_id``, ``label_name``,
        ``score``, ``threshold`` and, for a detection, ``roi.bbox`` relative to the image.
        ``discarded`` stays empty unless ``show_discarded``; at most ``max_predictions``
        per output. Raise :class:`TaskError` when the task fails."""
        path = f"/recognition/versions/{self.id}/inference"
        return _recognise(self._session, path, inputs, show_discarded, max_predictions, timeout)


class RecognitionSpecs:
    """``client.RecognitionSpec``: create, list and retrieve specs."""

    def __init__(self, session: HTTPSession) -> None:
        self._session = session

    def create(
        self,
        *,
        name: str,
        outputs: Sequence[Mapping[str, Any]],
        description: str = "",
        metadata: Mapping[str, Any] | None = None,
    ) -> RecognitionSpec:
        """Create a spec: ``outputs`` like ``[{"labels": {"labels": [{"id": 0, "name":
        "cat"}], "roi": "NONE", "exclusive": False}}]`` (``roi`` BBOX for a detection)."""
        body = {
            "name": name,
            "description": description,
            "metadata": dict(metadata or {}),
            "outputs": [dict(output) for output in outputs],
        }
        return RecognitionSpec(self._session, self._session.post("/recognition/specs", json=body))

    def list(self, public: bool = False) -> Iterator[RecognitionSpec]:
        """Iterate over your specs (or the public ones), without their ``outputs``."""
        path = "/recognition/public" if public else "/recognition/specs"
        for item in self._session.iter_results(path):
            yield RecognitionSpec(self._session, item)

    def retrieve(self, spec_id: int | str) -> RecognitionSpec:
        """Fetch a spec: an ``int`` is one of yours, a ``str`` a public slug."""
        spec = RecognitionSpec(self._session, {"id": spec_id})
        return spec.refresh()


class RecognitionVersions:
    """``client.RecognitionVersion``: create, list and retrieve versions."""

    def __init__(self, session: HTTPSession) -> None:
        self._session = session

    def create(
        self,
        *,
        spec_id: int,
        network_id: int | str,
        post_processings: Sequence[Mapping[str, Any]],
    ) -> RecognitionVersion:
        """Bind spec ``spec_id`` to network ``network_id`` (yours, or a public slug) with
        one post-processing per output of the spec, e.g. ``[{"classification":
        {"output_tensor": "prob"}}]``. A spec's first version becomes its current one."""
        body = {
            "spec_id": spec_id,
            "network_id": network_id,
            "post_processings": [dict(step) for step in post_processings],
        }
        answer = self._session.post("/recognition/versions", json=body)
        return RecognitionVersion(self._session, answer)

    def list(self) -> Iterator[RecognitionVersion]:
        """Iterate over all your versions."""
        for item in self._session.iter_results("/recognition/versions"):
            yield RecognitionVersion(self._session, item)

    def retrieve(self, version_id: int) -> RecognitionVersion:
        return RecognitionVersion(self._session, {"id": int(version_id)}).refresh()
