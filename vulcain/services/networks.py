"""Networks: create from uploaded files, list, get, edit, delete, publish, and infer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import BinaryIO

from vulcain.config import Settings
from vulcain.db.database import Database
from vulcain.inference.engine import Engine
from vulcain.schemas import Account, InferenceRequest, Network, NetworkUpdate, Preprocessing
from vulcain.storage.base import BlobStore
from vulcain.tasks.queue import TaskQueue


class NetworkService:
    """Every operation on networks. ``ref`` is an ``int`` for a private network id (the
    caller's own) or a ``str`` for a public slug; anything the caller may not see is
    :class:`vulcain.errors.NotFound`."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        storage: BlobStore,
        queue: TaskQueue,
        engine: Engine,
    ) -> None:
        self._settings = settings
        self._db = db
        self._storage = storage
        self._queue = queue
        self._engine = engine

    def create(
        self,
        account: Account,
        *,
        name: str,
        description: str,
        metadata: dict,
        framework: str,
        preprocessing: Preprocessing,
        files: Mapping[str, BinaryIO],
    ) -> Network:
        """Store the files (streamed, deduplicated by content), create the network and its
        deployment task in one transaction, then submit the task. Raise
        :class:`vulcain.errors.BadRequest` for an unknown framework, a missing, unexpected
        or badly named file, or a ``mean_file`` that was not uploaded; on any failure no
        row and no new blob is left behind."""
        raise NotImplementedError

    def list(
        self, account: Account, *, public: bool, offset: int, limit: int
    ) -> tuple[int, list[Network]]:
        """``(count, page)``: the account's own networks, or every published network
        (``public=True``), ordered by id."""
        raise NotImplementedError

    def get(self, account: Account, ref: int | str) -> Network:
        """The caller's network ``ref`` (int) or the published network ``ref`` (str)."""
        raise NotImplementedError

    def update(self, account: Account, ref: int | str, changes: NetworkUpdate) -> Network:
        """Change name, description or metadata (owner, or an admin for a public network)."""
        raise NotImplementedError

    def delete(self, account: Account, ref: int | str) -> None:
        """Delete the network (owner or admin), its files no other network uses, and its
        loaded model. Later inference on it is :class:`vulcain.errors.NotFound`."""
        raise NotImplementedError

    def publish(self, account: Account, network_id: int, public_id: str) -> Network:
        """Publish any network under the slug ``public_id`` (admin only; the slug is
        letters, digits, ``-``, ``_`` and ``.``, not only digits, and unique)."""
        raise NotImplementedError

    def infer(self, account: Account, ref: int | str, request: InferenceRequest) -> int:
        """Check what can be checked at once (number of inputs, output names the deployed
        network has, a failed deployment: :class:`vulcain.errors.BadRequest`), store the
        request with its images, create and submit an inference task; return its id."""
        raise NotImplementedError
