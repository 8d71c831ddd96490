"""Networks: create from uploaded files, list, get, edit, delete, publish, and infer."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import IO, Any

import anyio.to_thread
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vulcain.config import Settings
from vulcain.db.database import Database
from vulcain.db.models import NetworkFileRow, NetworkRow, utcnow
from vulcain.db.task_writes import (
    NewInference,
    add_deploy_task,
    attach_deploy_task,
    fail_network_tasks,
)
from vulcain.errors import BadRequest, Forbidden, NotFound
from vulcain.inference.engine import Engine
from vulcain.recognition.plan import RecognitionPlan
from vulcain.schemas import Account, InferenceRequest, Network, NetworkUpdate, Preprocessing
from vulcain.services._catalog import InferenceTarget, NetworkCatalog
from vulcain.services._files import check_files
from vulcain.services._inference_checks import check_image_sizes, check_request
from vulcain.services._network_fields import check_description, check_metadata
from vulcain.services._network_rows import find_network, to_network
from vulcain.services._recognition_rows import detach_network
from vulcain.services.blobs import claim_blobs, remove_unused_blobs
from vulcain.services.pages import check_page
from vulcain.services.publishing import publish_network
from vulcain.storage.base import BlobInfo, BlobStore, StagedBlob
from vulcain.tasks.events import TaskEvents
from vulcain.tasks.live import LiveTasks
from vulcain.tasks.payloads import InferenceWork, encode_request
from vulcain.tasks.queue import TaskQueue
from vulcain.tasks.runner import NETWORK_GONE
from vulcain.tasks.settle import on_loop
from vulcain.tasks.store import TaskStore
from vulcain.tasks.views import TaskView

log = logging.getLogger(__name__)


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
        events: TaskEvents,
        store: TaskStore,
        live: LiveTasks | None = None,
        catalog: NetworkCatalog | None = None,
    ) -> None:
        self._settings = settings
        self._db = db
        self._storage = storage
        self._queue = queue
        self._engine = engine
        self._events = events
        self._store = store
        self._live = live
        self._catalog = catalog or NetworkCatalog(db)

    def create(
        self,
        account: Account,
        *,
        name: str,
        description: str,
        metadata: dict[str, Any],
        framework: str,
        preprocessing: Preprocessing,
        files: Mapping[str, IO[bytes]],
    ) -> Network:
        """Store the files (streamed, deduplicated by content; uploaded before the
        transaction, so a long upload holds no database lock), create the network and its
        deployment task in one transaction, then submit the task. Raise
        :class:`vulcain.errors.BadRequest` for an unknown framework, a missing, unexpected
        or badly named file, or a ``mean_file`` that was not uploaded; on any failure no
        row and no new blob is left behind."""
        if not name or not name.strip() or len(name) > 255:
            raise BadRequest(
                "name: a network needs a name of 1 to 255 characters.",
                fields={"name": "required, at most 255 characters"},
            )
        check_description(self._settings, description)
        check_metadata(self._settings, metadata)
        check_files(framework, preprocessing, files)
        staged: dict[str, StagedBlob] = {}
        committed: list[BlobInfo] = []
        try:
            for file_name, stream in files.items():
                staged[file_name] = self._storage.stage(
                    stream, max_bytes=self._settings.max_upload_bytes
                )
            for blob in staged.values():
                blob.commit()
                committed.append(blob.info)
            with self._db.session() as session:
                claim_blobs(session, staged.values())
                row = self._insert(session, account, name, description, metadata, framework)
                row.preprocessing = preprocessing.model_dump(mode="json")
                row.files = [
                    NetworkFileRow(name=file_name, sha256=blob.info.sha256, size=blob.info.size)
                    for file_name, blob in staged.items()
                ]
                session.flush()
                network = to_network(row)
        except BaseException:
            if committed:
                remove_unused_blobs(self._db, self._storage, committed)
            raise
        finally:
            for blob in staged.values():
                blob.discard()
        self._submit(network.task_id)
        return network

    @staticmethod
    def _insert(
        session: Session,
        account: Account,
        name: str,
        description: str,
        metadata: dict[str, Any],
        framework: str,
    ) -> NetworkRow:
        task = add_deploy_task(session, account.id)
        row = NetworkRow(
            account_id=account.id,
            name=name,
            description=description or "",
            metadata_=dict(metadata or {}),
            framework=framework,
            preprocessing={},
            task_id=task.id,
        )
        session.add(row)
        session.flush()
        attach_deploy_task(task, row.id)
        return row

    def list(
        self, account: Account, *, public: bool, offset: int, limit: int
    ) -> tuple[int, list[Network]]:
        """``(count, page)``: the account's own networks, or every published network
        (``public=True``), ordered by id."""
        check_page(offset, limit)
        condition = (
            NetworkRow.public_id.is_not(None) if public else NetworkRow.account_id == account.id
        )
        with self._db.session() as session:
            count = session.scalar(select(func.count()).select_from(NetworkRow).where(condition))
            rows = session.scalars(
                select(NetworkRow)
                .where(condition)
                .order_by(NetworkRow.id)
                .offset(offset)
                .limit(limit)
            ).all()
            return count or 0, [to_network(row) for row in rows]

    def get(self, account: Account, ref: int | str) -> Network:
        """The caller's network ``ref`` (int) or the published network ``ref`` (str)."""
        with self._db.session() as session:
            return to_network(find_network(session, account, ref))

    def update(self, account: Account, ref: int | str, changes: NetworkUpdate) -> Network:
        """Change name, description or metadata (owner, or an admin for a public network)."""
        # Read field by field, not dumped: a dump would recurse into unchecked metadata.
        values = {
            name: getattr(changes, name)
            for name in ("name", "description", "metadata")
            if getattr(changes, name) is not None
        }
        if "description" in values:
            check_description(self._settings, values["description"])
        if "metadata" in values:
            check_metadata(self._settings, values["metadata"])
        with self._db.session() as session:
            row = find_network(session, account, ref)
            _check_may_change(account, row, "edit")
            if "name" in values:
                row.name = values["name"]
            if "description" in values:
                row.description = values["description"]
            if "metadata" in values:
                row.metadata_ = values["metadata"]
            if values:
                row.update_date = utcnow()
            session.flush()
            return to_network(row)

    def delete(self, account: Account, ref: int | str) -> None:
        """Delete the network (owner or admin), its files no other network uses, its
        loaded model and the recognition versions that use it (a spec whose current
        version goes has none); its pending tasks end in error. Later inference on it is
        :class:`vulcain.errors.NotFound`."""
        with self._db.session() as session:
            row = find_network(session, account, ref, load_files=True)
            _check_may_change(account, row, "delete")
            network_id = row.id
            blobs = [BlobInfo(file.sha256, file.size) for file in row.files]
            detach_network(session, network_id)
            session.delete(row)
            session.flush()
            failed = fail_network_tasks(session, network_id, NETWORK_GONE)
        self._catalog.forget(network_id)
        if self._live is not None:
            self._live.fail_network(network_id, NETWORK_GONE)
        for task_id in failed:
            self._events.notify(task_id)
        remove_unused_blobs(self._db, self._storage, blobs)
        self._engine.evict(network_id)

    def publish(self, account: Account, network_id: int, public_id: str) -> Network:
        """Publish any network under the slug ``public_id`` (admin only, who sees every
        network, see :func:`vulcain.services._network_rows.find_network`; see
        :func:`vulcain.services.publishing.publish_network` for the slug rules)."""
        if not account.is_admin:
            raise Forbidden("Only an admin account can publish a network.")
        network = publish_network(self._db, network_id, public_id)
        self._catalog.forget(network_id)
        return network

    async def infer(self, account: Account, ref: int | str, request: InferenceRequest) -> int:
        """Accept an inference: check it (:mod:`vulcain.services._inference_checks`: number
        of inputs, output names the deployed network has, a failed deployment, image
        sizes), write its task and request durably, hand it to the queue; return the
        task id. Reads the database only for a network whose deployment has not ended."""
        accepted = await self._infer(account, ref, request, None)
        assert isinstance(accepted, int)
        return accepted

    async def infer_held(
        self, account: Account, ref: int | str, request: InferenceRequest, seconds: float
    ) -> int | TaskView:
        """As :meth:`infer`, for a request held until its task ends (``?wait``): where the
        engine runs in this process and the inference ends within ``seconds``, its task is
        written once, already ended, and returned; otherwise the id of the task, written
        pending as by :meth:`infer`, is."""
        return await self._infer(account, ref, request, seconds)

    async def _infer(
        self, account: Account, ref: int | str, request: InferenceRequest, held: float | None
    ) -> int | TaskView:
        check_image_sizes(request, self._settings.fetch_max_bytes)
        target = self._catalog.cached(account, ref)
        if target is not None:
            try:
                return await self._accept(account, ref, request, target, held=held)
            except NotFound:
                self._catalog.forget(target.network.id)  # deleted or published anew since
        target = await anyio.to_thread.run_sync(self._catalog.load, account, ref)
        return await self._accept(account, ref, request, target, held=held)

    async def infer_recognition(
        self,
        account: Account,
        network_id: int,
        request: InferenceRequest,
        plan: RecognitionPlan,
        name: str,
        held: float | None = None,
    ) -> int | TaskView:
        """Accept a recognition inference on network ``network_id``, which the caller may
        use through a version it may use (checked by the recognition service, so the
        network may be another account's). Its output names are not checked here: a
        tensor the network lacks fails the task, as a tensor of the wrong shape does.
        With ``held`` seconds, as :meth:`infer_held`."""
        check_image_sizes(request, self._settings.fetch_max_bytes)
        target = self._catalog.cached_id(network_id)
        if target is not None:
            try:
                return await self._accept(
                    account, None, request, target, plan=plan, name=name, held=held
                )
            except NotFound:
                self._catalog.forget(network_id)
        target = await anyio.to_thread.run_sync(self._catalog.load_id, network_id)
        return await self._accept(account, None, request, target, plan=plan, name=name, held=held)

    async def _accept(
        self,
        account: Account,
        ref: int | str | None,
        request: InferenceRequest,
        target: InferenceTarget,
        *,
        plan: RecognitionPlan | None = None,
        name: str = "",
        held: float | None = None,
    ) -> int | TaskView:
        check_request(target, request, outputs=plan is None)
        public_id = ref if isinstance(ref, str) else None
        # A public network by its slug, as it was asked.
        name = name or f"inference on network {ref}"
        created = utcnow()
        body = encode_request(request, plan)
        task = NewInference(account.id, target.network.id, public_id, name, created, body)
        work = InferenceWork(target.network, request, account.id, name, created, recognition=plan)
        begun = self._queue.begin(work)  # its images are decoded while the task is written
        if begun is not None and held is not None:
            ended = await begun.settle_within(task, held)
            if ended is not None:
                return ended
        loop = asyncio.get_running_loop()
        written: asyncio.Future[int] = loop.create_future()
        self._store.create_inference(task, on_loop(loop, written))
        try:
            task_id = await written
        except BaseException:
            if begun is not None:
                begun.not_written()
            raise
        if begun is not None:
            begun.written(task_id)
        elif self._queue.submit_blocks:
            await anyio.to_thread.run_sync(self._submit, task_id, work)
        else:
            self._submit(task_id, work)
        return task_id

    def _submit(self, task_id: int, work: InferenceWork | None = None) -> None:
        """Hand the committed task to the queue. If that fails the task stays pending in
        the database, so the caller still succeeds: the queue submits it again later (the
        broker's resubmit, the in-process queue's retry), or the next start recovers it."""
        try:
            self._queue.submit(task_id, work)
        except Exception:
            log.exception("could not submit task %s; it stays pending until recovered", task_id)


def _check_may_change(account: Account, row: NetworkRow, action: str) -> None:
    if row.account_id != account.id and not account.is_admin:
        name = repr(row.public_id) if row.public_id else row.id
        raise Forbidden(
            f"Only the owner of network {name} or an admin may {action} it; any account may "
            "retrieve it and run inference on it."
        )
