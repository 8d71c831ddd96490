"""Recognition specifications and versions: create, list, get, edit, delete, publish,
and infer (through :meth:`vulcain.services.networks.NetworkService.infer_recognition`)."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vulcain.config import Settings
from vulcain.db.database import Database
from vulcain.db.models import RecognitionSpecRow, RecognitionVersionRow, utcnow
from vulcain.errors import BadRequest, Conflict, Forbidden, NotFound
from vulcain.recognition.plan import filled, make_plan
from vulcain.recognition.schemas import (
    PostProcessing,
    PublicSpec,
    PublicSpecSummary,
    RecognitionInferenceRequest,
    Spec,
    SpecCreate,
    SpecOutput,
    SpecSummary,
    Version,
    VersionCreate,
)
from vulcain.schemas import Account, InferenceRequest
from vulcain.services._network_fields import check_description, check_metadata
from vulcain.services._network_rows import find_network
from vulcain.services._recognition_rows import (
    find_spec,
    to_public_spec,
    to_public_summary,
    to_spec,
    to_spec_summary,
    version_rows,
)
from vulcain.services.networks import NetworkService
from vulcain.services.pages import check_page
from vulcain.services.publishing import PUBLIC_ID
from vulcain.tasks.views import TaskView

SPEC = "a recognition spec"


class RecognitionService:
    """Every operation on recognition specs and versions. A spec ``ref`` is an ``int`` for
    one of the caller's specs or a ``str`` for a published spec's slug; what the caller
    may not see is :class:`vulcain.errors.NotFound`."""

    def __init__(self, settings: Settings, db: Database, networks: NetworkService) -> None:
        self._settings = settings
        self._db = db
        self._networks = networks

    def _check_fields(self, description: str | None, metadata: dict[str, Any] | None) -> None:
        if description is not None:
            check_description(self._settings, description, SPEC)
        if metadata is not None:
            check_metadata(self._settings, metadata, SPEC)

    # ------------------------------------------------------------------ specs

    def create_spec(self, account: Account, body: SpecCreate) -> Spec:
        if "current_version_id" in body.model_fields_set:
            raise BadRequest(
                "current_version_id: a new spec has no version; create a version for it "
                "(the first one becomes its current version), then change it with a PATCH.",
                fields={"current_version_id": "not accepted on create"},
            )
        _check_name(body.name)
        self._check_fields(body.description, body.metadata)
        with self._db.session() as session:
            row = RecognitionSpecRow(
                account_id=account.id,
                name=body.name,
                description=body.description,
                metadata_=body.metadata,
                outputs=[output.model_dump(mode="json") for output in body.outputs],
            )
            session.add(row)
            session.flush()
            return to_spec(row)

    def list_specs(
        self, account: Account, *, public: bool, offset: int, limit: int
    ) -> tuple[int, list[SpecSummary | PublicSpecSummary]]:
        """``(count, page)``: the caller's specs, or every published spec, by id."""
        check_page(offset, limit)
        condition = (
            RecognitionSpecRow.public_id.is_not(None)
            if public
            else RecognitionSpecRow.account_id == account.id
        )
        with self._db.session() as session:
            count = session.scalar(
                select(func.count()).select_from(RecognitionSpecRow).where(condition)
            )
            rows = session.scalars(
                select(RecognitionSpecRow)
                .where(condition)
                .order_by(RecognitionSpecRow.id)
                .offset(offset)
                .limit(limit)
            ).all()
            convert = to_public_summary if public else to_spec_summary
            return count or 0, [convert(row) for row in rows]

    def get_spec(self, account: Account, ref: int | str) -> Spec | PublicSpec:
        """The caller's spec (int ``ref``) or a published spec as anyone sees it (str)."""
        with self._db.session() as session:
            row = find_spec(session, account, ref)
            return to_public_spec(row) if isinstance(ref, str) else to_spec(row)

    def update_spec(
        self, account: Account, ref: int | str, changes: dict[str, Any]
    ) -> Spec | PublicSpec:
        """Change name, description, metadata or ``current_version_id`` (null, or one of
        the spec's versions). A published spec: its owner or an admin."""
        if changes.get("name") is not None:
            _check_name(changes["name"])
        self._check_fields(changes.get("description"), changes.get("metadata"))
        with self._db.session() as session:
            row = find_spec(session, account, ref)
            _check_may_change(account, row, "edit")
            if "current_version_id" in changes:
                version_id = changes["current_version_id"]
                if version_id is not None:
                    _check_version_of(session, row, version_id)
                row.current_version_id = version_id
            for name in ("name", "description"):
                if changes.get(name) is not None:
                    setattr(row, name, changes[name])
            if changes.get("metadata") is not None:
                row.metadata_ = changes["metadata"]
            if changes:
                row.update_date = utcnow()
            session.flush()
            return to_public_spec(row) if isinstance(ref, str) else to_spec(row)

    def delete_spec(self, account: Account, ref: int | str) -> None:
        """Delete the spec and its versions. A published spec goes only by its public
        path (owner or admin): by its private id it is a :class:`Conflict`."""
        with self._db.session() as session:
            row = find_spec(session, account, ref)
            _check_may_change(account, row, "delete")
            if isinstance(ref, int) and row.public_id is not None:
                raise Conflict(
                    f"Recognition spec {row.id} is published as {row.public_id!r}: delete it "
                    f"at /v0.7/recognition/public/{row.public_id}, which unpublishes it too."
                )
            session.execute(
                delete(RecognitionVersionRow).where(RecognitionVersionRow.spec_id == row.id)
            )
            session.delete(row)

    def publish_spec(self, account: Account, spec_id: int, public_id: str) -> Spec:
        """Publish one of the caller's specs under the slug ``public_id`` (admin only; the
        spec needs a current version)."""
        if not account.is_admin:
            raise Forbidden("Only an admin account can publish a recognition spec.")
        if not isinstance(public_id, str) or not PUBLIC_ID.match(public_id):
            raise BadRequest(
                "public_id: use 1 to 128 letters, digits, '-', '_' or '.', starting with a "
                "letter or digit and not only digits, e.g. imagenet-inception-v3.",
                fields={"public_id": "invalid slug"},
            )
        try:
            with self._db.session() as session:
                row = find_spec(session, account, spec_id)
                if row.current_version_id is None:
                    raise BadRequest(
                        f"Recognition spec {spec_id} has no current version: create a "
                        "version for it before publishing it."
                    )
                taken = session.scalar(
                    select(RecognitionSpecRow.id).where(
                        RecognitionSpecRow.public_id == public_id,
                        RecognitionSpecRow.id != spec_id,
                    )
                )
                if taken is not None:
                    raise _slug_taken(public_id)
                row.public_id = public_id
                row.update_date = utcnow()
                session.flush()
                return to_spec(row)
        except IntegrityError as error:
            raise _slug_taken(public_id) from error

    # ------------------------------------------------------------------ versions

    def create_version(self, account: Account, body: VersionCreate) -> Version:
        """Bind one of the caller's specs to a network the caller may use; the spec's
        first version becomes its current version."""
        with self._db.session() as session:
            spec = session.scalars(
                select(RecognitionSpecRow).where(
                    RecognitionSpecRow.id == body.spec_id,
                    RecognitionSpecRow.account_id == account.id,
                )
            ).one_or_none()
            if spec is None:
                raise BadRequest(
                    f"spec_id: there is no recognition spec {body.spec_id} among yours.",
                    fields={"spec_id": "not one of your specs"},
                )
            try:
                network = find_network(session, account, body.network_id)
            except NotFound:
                raise BadRequest(
                    f"network_id: there is no network {body.network_id!r} among yours or "
                    "the public ones.",
                    fields={"network_id": "not a network you may use"},
                ) from None
            outputs = [SpecOutput.model_validate(output) for output in spec.outputs]
            steps = _checked_post_processings(outputs, body.post_processings)
            row = RecognitionVersionRow(
                account_id=account.id,
                spec_id=spec.id,
                network_id=network.id,
                post_processings=[
                    step.model_dump(mode="json", exclude_none=True) for step in steps
                ],
            )
            session.add(row)
            session.flush()
            if spec.current_version_id is None:
                spec.current_version_id = row.id
                spec.update_date = utcnow()
            session.flush()
            return version_rows(session, RecognitionVersionRow.id == row.id)[0]

    def list_versions(
        self, account: Account, *, spec_id: int | None, offset: int, limit: int
    ) -> tuple[int, list[Version]]:
        """``(count, page)`` of the caller's versions, or of one of its specs."""
        check_page(offset, limit)
        with self._db.session() as session:
            condition = RecognitionVersionRow.account_id == account.id
            if spec_id is not None:
                spec = find_spec(session, account, spec_id)
                condition = RecognitionVersionRow.spec_id == spec.id
            count = session.scalar(
                select(func.count()).select_from(RecognitionVersionRow).where(condition)
            )
            return count or 0, version_rows(session, condition, offset=offset, limit=limit)

    def get_version(self, account: Account, version_id: int) -> Version:
        with self._db.session() as session:
            found = version_rows(session, _own_version(account, version_id))
            if not found:
                raise _no_version(version_id)
            return found[0]

    def delete_version(self, account: Account, version_id: int) -> None:
        """Delete the version; a spec whose current version it was has none."""
        with self._db.session() as session:
            row = session.scalars(
                select(RecognitionVersionRow).where(_own_version(account, version_id))
            ).one_or_none()
            if row is None:
                raise _no_version(version_id)
            spec = session.get(RecognitionSpecRow, row.spec_id)
            if spec is not None and spec.current_version_id == row.id:
                spec.current_version_id = None
                spec.update_date = utcnow()
            session.delete(row)

    # ------------------------------------------------------------------ inference

    async def infer_spec(
        self,
        account: Account,
        ref: int | str,
        body: RecognitionInferenceRequest,
        held: float | None = None,
    ) -> int | TaskView:
        """Run the spec's current version (a published spec's, for a slug). With ``held``
        seconds, as :meth:`vulcain.services.networks.NetworkService.infer_held`."""
        version, outputs, name = await anyio.to_thread.run_sync(self._current_version, account, ref)
        return await self._infer(account, version, outputs, body, name, held)

    async def infer_version(
        self,
        account: Account,
        version_id: int,
        body: RecognitionInferenceRequest,
        held: float | None = None,
    ) -> int | TaskView:
        version, outputs = await anyio.to_thread.run_sync(
            self._version_and_outputs, account, version_id
        )
        name = f"recognition on version {version_id}"
        return await self._infer(account, version, outputs, body, name, held)

    async def _infer(
        self,
        account: Account,
        version: RecognitionVersionRow,
        outputs: list[SpecOutput],
        body: RecognitionInferenceRequest,
        name: str,
        held: float | None,
    ) -> int | TaskView:
        steps = [PostProcessing.model_validate(step) for step in version.post_processings]
        plan = make_plan(
            outputs,
            steps,
            show_discarded=body.show_discarded,
            max_predictions=body.max_predictions,
        )
        request = InferenceRequest(inputs=body.inputs, output_tensors=plan.tensor_names())
        return await self._networks.infer_recognition(
            account, version.network_id, request, plan, name, held
        )

    def _current_version(
        self, account: Account, ref: int | str
    ) -> tuple[RecognitionVersionRow, list[SpecOutput], str]:
        with self._db.session() as session:
            spec = find_spec(session, account, ref)
            shown = repr(ref) if isinstance(ref, str) else str(ref)
            if spec.current_version_id is None:
                raise BadRequest(
                    f"recognition spec {shown} has no current version; create a version for "
                    "it, or set its current_version_id, then infer again."
                )
            version = session.get(RecognitionVersionRow, spec.current_version_id)
            if version is None:
                raise BadRequest(f"recognition spec {shown} has no current version.")
            session.expunge(version)
            outputs = [SpecOutput.model_validate(output) for output in spec.outputs]
            public = "public " if isinstance(ref, str) else ""
            return version, outputs, f"recognition on {public}spec {shown}"

    def _version_and_outputs(
        self, account: Account, version_id: int
    ) -> tuple[RecognitionVersionRow, list[SpecOutput]]:
        with self._db.session() as session:
            version = session.scalars(
                select(RecognitionVersionRow).where(_own_version(account, version_id))
            ).one_or_none()
            if version is None:
                raise _no_version(version_id)
            spec = session.get(RecognitionSpecRow, version.spec_id)
            assert spec is not None  # versions go with their spec
            session.expunge(version)
            return version, [SpecOutput.model_validate(output) for output in spec.outputs]


def _check_name(name: str) -> None:
    if not name.strip():
        raise BadRequest(
            "name: a recognition spec needs a name that is not blank.",
            fields={"name": "must not be blank"},
        )


def _check_may_change(account: Account, row: RecognitionSpecRow, action: str) -> None:
    if row.account_id != account.id and not account.is_admin:
        raise Forbidden(
            f"Only the owner of recognition spec {row.public_id!r} or an admin may {action} "
            "it; any account may retrieve it and run inference on it."
        )


def _check_version_of(session: Session, spec: RecognitionSpecRow, version_id: int) -> None:
    owner = session.scalar(
        select(RecognitionVersionRow.spec_id).where(RecognitionVersionRow.id == version_id)
    )
    if owner != spec.id:
        raise BadRequest(
            f"current_version_id: {version_id} is not a version of recognition spec "
            f"{spec.id}; list its versions at /v0.7/recognition/specs/{spec.id}/versions.",
            fields={"current_version_id": "not a version of this spec"},
        )


def _checked_post_processings(
    outputs: list[SpecOutput], steps: list[PostProcessing]
) -> list[PostProcessing]:
    """The post-processings with their thresholds filled in, after checking each against
    the spec's output at its position."""
    if len(steps) != len(outputs):
        raise BadRequest(
            f"post_processings: the spec has {len(outputs)} output(s), so a version needs "
            f"{len(outputs)} post-processing(s), one per output in order; got {len(steps)}.",
            fields={"post_processings": f"expected {len(outputs)} entries"},
        )
    checked = []
    for index, (output, step) in enumerate(zip(outputs, steps, strict=True)):
        labels = output.labels
        path = f"post_processings[{index}]"
        if step.classification is not None and labels.roi != "NONE":
            raise BadRequest(
                f"{path}.classification: output {index} of the spec has roi {labels.roi}; a "
                "classification fills an output with roi NONE, use a detection.",
                fields={f"{path}.classification": "needs an output with roi NONE"},
            )
        if step.detection is not None and labels.roi != "BBOX":
            raise BadRequest(
                f"{path}.detection: output {index} of the spec has roi {labels.roi}; a "
                "detection fills an output with roi BBOX, use a classification.",
                fields={f"{path}.detection": "needs an output with roi BBOX"},
            )
        thresholds = step.thresholds
        if thresholds is not None and len(thresholds) != len(labels.labels):
            kind = "classification" if step.classification is not None else "detection"
            field = f"{path}.{kind}.thresholds"
            raise BadRequest(
                f"{field}: output {index} has {len(labels.labels)} label(s), so it needs "
                f"{len(labels.labels)} threshold(s), one per label in order; got "
                f"{len(thresholds)}.",
                fields={field: f"expected {len(labels.labels)} values"},
            )
        checked.append(filled(step, len(labels.labels)))
    return checked


def _own_version(account: Account, version_id: int) -> ColumnElement[bool]:
    return (RecognitionVersionRow.id == version_id) & (
        RecognitionVersionRow.account_id == account.id
    )


def _no_version(version_id: int) -> NotFound:
    return NotFound(f"There is no recognition version {version_id} among yours.")


def _slug_taken(public_id: str) -> BadRequest:
    return BadRequest(
        f"public_id: {public_id!r} is already used by another recognition spec; choose another.",
        fields={"public_id": "already used"},
    )
