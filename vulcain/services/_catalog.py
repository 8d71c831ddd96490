"""What accepting an inference needs to know of a network, kept in memory once it is final.

A network's framework, preprocessing, files and owner never change, nor do its output
names and the outcome of its deployment once that ended: a network whose deployment
ended is kept here and an inference on it reads nothing from the database. What may
change meanwhile (the network is deleted, or published under another slug, maybe by
another process) is checked where the task is written, in the same transaction
(:meth:`vulcain.db.task_writes.TaskWrites.insert_inferences`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vulcain.db.database import Database
from vulcain.db.models import NetworkRow, TaskRow
from vulcain.errors import NotFound
from vulcain.inference.network_spec import NetworkSpec
from vulcain.runtimes.base import TensorSpec
from vulcain.schemas import Account, TaskStatus
from vulcain.services._network_rows import find_network
from vulcain.tasks.payloads import network_spec

MAX_ENTRIES = 4096


@dataclass(frozen=True)
class InferenceTarget:
    """A network as an inference request is checked against."""

    network: NetworkSpec
    account_id: int
    public_id: str | None
    outputs: tuple[str, ...] | None
    """Every name inference may ask for, once the deployment succeeded."""
    deployment_error: str | None
    """Why the deployment failed, when it did."""
    final: bool
    """The deployment ended: nothing above changes any more, but ``public_id``."""
    inputs: tuple[TensorSpec, ...] | None = None
    """The tensors the network is fed, once the deployment succeeded."""

    @cached_property
    def known_outputs(self) -> frozenset[str]:
        return frozenset(self.outputs or ())

    def visible_to(self, account: Account, ref: int | str) -> bool:
        if isinstance(ref, str):
            return self.public_id == ref
        return self.network.id == ref and (self.account_id == account.id or account.is_admin)


class NetworkCatalog:
    """:class:`InferenceTarget` by network id and public slug (thread-safe)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._lock = threading.Lock()
        self._targets: dict[int, InferenceTarget] = {}
        self._slugs: dict[str, int] = {}

    def cached(self, account: Account, ref: int | str) -> InferenceTarget | None:
        """The target ``ref`` names for ``account`` if it is known here; no I/O."""
        network_id = self._slugs.get(ref) if isinstance(ref, str) else ref
        target = None if network_id is None else self._targets.get(network_id)
        if target is None or not target.visible_to(account, ref):
            return None
        return target

    def cached_id(self, network_id: int) -> InferenceTarget | None:
        """The target of network ``network_id`` if it is known here, whoever owns it (for
        callers that checked who may use it, such as a recognition version); no I/O."""
        return self._targets.get(network_id)

    def load(self, account: Account, ref: int | str) -> InferenceTarget:
        """Read the target from the database (:class:`vulcain.errors.NotFound` when the
        caller may not see it) and keep it once final."""
        with self._db.session() as session:
            return self._keep(self._target(session, find_network(session, account, ref)))

    def load_id(self, network_id: int) -> InferenceTarget:
        """:meth:`load` by id, whoever owns the network (see :meth:`cached_id`)."""
        with self._db.session() as session:
            row = session.get(NetworkRow, network_id)
            if row is None:
                raise NotFound(f"There is no network {network_id}.")
            return self._keep(self._target(session, row))

    @staticmethod
    def _target(session: Session, row: NetworkRow) -> InferenceTarget:
        # Files are read after the deployment's status: a deployment that ended adds its
        # converted file in the transaction that ends it, so a final target never misses
        # it (PostgreSQL reads each statement's latest commits).
        deployment = session.execute(
            select(TaskRow.status, TaskRow.error).where(TaskRow.id == row.task_id)
        ).one_or_none()
        status, error = deployment or (TaskStatus.PENDING, None)
        outputs = row.outputs if status == TaskStatus.SUCCESS else None
        inputs = row.inputs if status == TaskStatus.SUCCESS else None
        return InferenceTarget(
            network=network_spec(row),
            account_id=row.account_id,
            public_id=row.public_id,
            outputs=None if outputs is None else tuple(outputs),
            deployment_error=error if status == TaskStatus.ERROR else None,
            final=status != TaskStatus.PENDING,
            inputs=None if inputs is None else tuple(_tensor_spec(spec) for spec in inputs),
        )

    def _keep(self, target: InferenceTarget) -> InferenceTarget:
        if target.final:
            with self._lock:
                if len(self._targets) >= MAX_ENTRIES:
                    self._targets.clear()
                    self._slugs.clear()
                self._targets[target.network.id] = target
                if target.public_id is not None:
                    self._slugs[target.public_id] = target.network.id
        return target

    def forget(self, network_id: int) -> None:
        """Drop what is known of a network (deleted, published anew, or found stale)."""
        with self._lock:
            target = self._targets.pop(network_id, None)
            if target is not None and target.public_id is not None:
                self._slugs.pop(target.public_id, None)


def _tensor_spec(stored: dict[str, Any]) -> TensorSpec:
    """A network input as its deployment stored it (``dataclasses.asdict`` of a
    :class:`TensorSpec`, read back as JSON)."""
    shape = stored.get("shape")
    return TensorSpec(
        name=str(stored["name"]),
        shape=None if shape is None else tuple(shape),
        dtype=str(stored.get("dtype", "float32")),
    )
