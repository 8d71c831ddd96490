from __future__ import annotations

import asyncio
import hashlib
import io
import uuid

import pytest
from sqlalchemy import delete, func, select

from tests.services.conftest import preprocessing, stored_blobs, unique_files
from vulcain.config import Settings
from vulcain.db.models import NetworkFileRow, NetworkRow, TaskRow
from vulcain.errors import BadRequest, Forbidden, NotFound, PayloadTooLarge
from vulcain.schemas import Account, ImageInput, InferenceInput, InferenceRequest, NetworkUpdate
from vulcain.services import Services


def create(services: Services, account: Account, **overrides):
    arguments = {
        "name": "net",
        "description": "a network",
        "metadata": {"author": "me"},
        "framework": "onnx",
        "preprocessing": preprocessing(),
        "files": unique_files("model.onnx"),
    }
    arguments.update(overrides)
    return services.networks.create(account, **arguments)


def network_rows(services: Services, account: Account) -> int:
    with services.db.session() as session:
        return session.scalar(
            select(func.count()).select_from(NetworkRow).where(NetworkRow.account_id == account.id)
        )


def task_rows(services: Services, account: Account) -> int:
    with services.db.session() as session:
        return session.scalar(
            select(func.count()).select_from(TaskRow).where(TaskRow.account_id == account.id)
        )


def request(inputs: int = 1, outputs: tuple[str, ...] = ("out",)) -> InferenceRequest:
    return InferenceRequest(
        inputs=[InferenceInput(image=ImageInput(source=b"\x89PNG...")) for _ in range(inputs)],
        output_tensors=list(outputs),
    )


def test_create_stores_the_network_its_files_and_a_deploy_task(services, account, settings):
    content = b"onnx bytes " + uuid.uuid4().bytes
    network = create(
        services,
        account,
        files={"model.onnx": io.BytesIO(content), "mean.npy": io.BytesIO(b"mean" * 10)},
        preprocessing=preprocessing(mean_file="mean.npy"),
    )
    assert network.name == "net" and network.metadata == {"author": "me"}
    assert network.framework == "onnx" and network.public_id is None
    assert network.preprocessing.inputs[0].image.mean_file == "mean.npy"
    assert network.create_date.tzinfo is not None
    assert network.model_dump(mode="json")["update_date"].endswith("Z")
    sha = hashlib.sha256(content).hexdigest()
    assert (settings.data_dir / "blobs" / sha[:2] / sha).read_bytes() == content
    task = asyncio.run(services.tasks.get(account, network.task_id))
    assert task.name == f"deploy network {network.id}"
    with services.db.session() as session:
        files = session.scalars(
            select(NetworkFileRow.name).where(NetworkFileRow.network_id == network.id)
        ).all()
    assert sorted(files) == ["mean.npy", "model.onnx"]


def test_get_list_update_and_isolation(services, account, other_account):
    first = create(services, account, name="first")
    second = create(services, account, name="second")
    assert services.networks.get(account, first.id) == first
    count, page = services.networks.list(account, public=False, offset=0, limit=100)
    assert count == 2 and [n.id for n in page] == [first.id, second.id]
    count, page = services.networks.list(account, public=False, offset=1, limit=1)
    assert count == 2 and [n.id for n in page] == [second.id]

    changed = services.networks.update(
        account, first.id, NetworkUpdate(name="renamed", metadata={"v": 2})
    )
    assert changed.name == "renamed" and changed.metadata == {"v": 2}
    assert changed.description == "a network"
    assert changed.update_date > first.update_date

    assert services.networks.list(other_account, public=False, offset=0, limit=10) == (0, [])
    for call in (
        lambda: services.networks.get(other_account, first.id),
        lambda: services.networks.update(other_account, first.id, NetworkUpdate(name="x")),
        lambda: services.networks.delete(other_account, first.id),
        lambda: asyncio.run(services.networks.infer(other_account, first.id, request())),
        lambda: asyncio.run(services.tasks.get(other_account, first.task_id)),
    ):
        with pytest.raises(NotFound):
            call()


def test_publish_makes_a_network_public_to_everyone(services, account, other_account, admin):
    network = create(services, account)
    slug = f"shared-{uuid.uuid4().hex[:8]}"
    with pytest.raises(Forbidden):
        services.networks.publish(account, network.id, slug)
    published = services.networks.publish(admin, network.id, slug)
    assert published.public_id == slug
    assert services.networks.get(other_account, slug).id == network.id
    count, page = services.networks.list(other_account, public=True, offset=0, limit=1000)
    assert network.id in [n.id for n in page] and count >= 1
    with pytest.raises(Forbidden):
        services.networks.update(other_account, slug, NetworkUpdate(name="mine now"))
    with pytest.raises(Forbidden):
        services.networks.delete(other_account, slug)
    assert services.networks.update(admin, slug, NetworkUpdate(description="d")).description == "d"

    another = create(services, account)
    with pytest.raises(BadRequest, match="already used"):
        services.networks.publish(admin, another.id, slug)
    for bad in ("", "12345", "../x", "with space", "-leading", "x" * 129):
        with pytest.raises(BadRequest, match="public_id"):
            services.networks.publish(admin, another.id, bad)
    with pytest.raises(NotFound):
        services.networks.get(account, "no-such-slug")


@pytest.mark.parametrize(
    ("files", "prep", "message"),
    [
        (("mean.npy",), None, "Missing file for framework onnx: model.onnx"),
        (("model.onnx", "../x"), None, "contains a path separator"),
        (("model.onnx", ".."), None, "directory name"),
        (("model.onnx", "a\x00b"), None, "control character"),
        (("model.onnx", "mean.txt"), None, "Unexpected file 'mean.txt'"),
        (("model.onnx", "mean.npy"), "other.npy", "not among the uploaded files"),
        (("model.onnx",), "mean.npy", "not among the uploaded files"),
    ],
)
def test_bad_files_leave_no_row_and_no_blob(services, account, settings, files, prep, message):
    before = stored_blobs(settings)
    with pytest.raises(BadRequest, match=message):
        create(services, account, files=unique_files(*files), preprocessing=preprocessing(prep))
    assert network_rows(services, account) == 0
    assert task_rows(services, account) == 0
    assert stored_blobs(settings) == before
    assert list(services.storage.tmp.iterdir()) == []  # no staged file left


def test_unknown_framework_and_missing_caffe_weights(services, account):
    with pytest.raises(BadRequest, match="framework: must be one of"):
        create(services, account, framework="torch")
    with pytest.raises(BadRequest, match=r"snapshot\.caffemodel"):
        create(
            services, account, framework="nv-caffe-0.x-mod", files=unique_files("deploy.prototxt")
        )
    assert network_rows(services, account) == 0


def test_failure_after_upload_removes_the_new_blobs(services, account, settings):
    class BrokenStream(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            raise OSError("client went away")

    before = stored_blobs(settings)
    files = unique_files("model.onnx")
    files["mean.npy"] = BrokenStream()  # type: ignore[assignment]
    with pytest.raises(OSError, match="client went away"):
        create(services, account, files=files, preprocessing=preprocessing("mean.npy"))
    assert stored_blobs(settings) == before
    assert network_rows(services, account) == 0


def test_identical_files_are_stored_once_and_removed_with_the_last_user(
    services, account, admin, settings
):
    content = uuid.uuid4().bytes * 100
    sha = hashlib.sha256(content).hexdigest()
    blob = settings.data_dir / "blobs" / sha[:2] / sha
    first = create(services, account, files={"model.onnx": io.BytesIO(content)})
    second = create(services, account, files={"model.onnx": io.BytesIO(content)})
    assert [p for p in stored_blobs(settings) if p.name == sha] == [blob]

    services.networks.delete(account, first.id)
    assert blob.exists()
    with pytest.raises(NotFound):
        services.networks.get(account, first.id)

    slug = f"gone-{uuid.uuid4().hex[:6]}"
    services.networks.publish(admin, second.id, slug)
    services.networks.delete(admin, slug)
    assert not blob.exists()
    with pytest.raises(NotFound):
        asyncio.run(services.networks.infer(account, second.id, request()))


def test_infer_checks_inputs_and_stores_a_task(services, account):
    network = create(services, account, preprocessing=preprocessing(inputs=2))
    # The model file is fake: its deployment fails. Once it has, the test makes it a
    # success before any inference reads the network (a final deployment is cached).
    asyncio.run(services.tasks.wait(account, network.task_id, 30))
    with services.db.session() as session:
        deployment = session.get(TaskRow, network.task_id)
        deployment.status, deployment.error = "success", None
        row = session.get(NetworkRow, network.id)
        row.outputs = ["out", "hidden:0"]
    with pytest.raises(BadRequest, match=r"takes 2 input\(s\) \(in0, in1\)"):
        asyncio.run(services.networks.infer(account, network.id, request(inputs=1)))
    with pytest.raises(BadRequest, match="Unknown output name 'nope'"):
        asyncio.run(services.networks.infer(account, network.id, request(2, ("out", "nope"))))
    task_id = asyncio.run(
        services.networks.infer(account, network.id, request(2, ("out", "hidden:0")))
    )
    task = asyncio.run(services.tasks.get(account, task_id))
    assert task.name == f"inference on network {network.id}"


def test_infer_refuses_an_image_larger_than_the_fetch_cap(settings, account):
    small = Services(settings.model_copy(update={"fetch_max_bytes": 1024}), out=io.StringIO())
    small.start()
    try:
        network = create(small, account)
        asyncio.run(small.tasks.wait(account, network.task_id, 30))
        with small.db.session() as session:
            deployment = session.get(TaskRow, network.task_id)
            deployment.status, deployment.error = "success", None
        big = InferenceRequest(
            inputs=[InferenceInput(image=ImageInput(source=b"x" * 1025))], output_tensors=["out"]
        )
        before = task_rows(small, account)
        with pytest.raises(PayloadTooLarge, match=r"inputs\[0\]\.image\.source: .*1025 bytes"):
            asyncio.run(small.networks.infer(account, network.id, big))
        assert task_rows(small, account) == before
        big.inputs[0].image.source = b"x" * 1024
        assert asyncio.run(small.networks.infer(account, network.id, big)) > 0
    finally:
        small.close()


def test_infer_refuses_a_network_whose_deployment_failed(services, account):
    network = create(services, account)
    task = asyncio.run(services.tasks.wait(account, network.task_id, 30))
    assert task.status == "error" and "model.onnx" in task.error
    with pytest.raises(BadRequest, match=r"deployment failed.*model\.onnx"):
        asyncio.run(services.networks.infer(account, network.id, request()))


def test_pagination_bounds(services, account):
    with pytest.raises(BadRequest, match="limit"):
        services.networks.list(account, public=False, offset=0, limit=1001)
    with pytest.raises(BadRequest, match="offset"):
        services.tasks.list(account, None, offset=-1, limit=10)
    with pytest.raises(BadRequest, match="offset"):
        services.tasks.list(account, None, offset=2**63, limit=10)
    assert services.networks.list(account, public=True, offset=2**63 - 1, limit=10)[1] == []


def test_settings_fixture_isolates_data(settings: Settings):
    assert settings.storage_url.startswith("file://")


def test_ids_of_deleted_networks_and_purged_tasks_are_never_given_again(services, account):
    first = create(services, account)
    services.networks.delete(account, first.id)
    second = create(services, account)
    assert second.id > first.id
    services.networks.delete(account, second.id)
    with services.db.session() as session:
        session.execute(delete(TaskRow).where(TaskRow.id == second.task_id))
    third = create(services, account)
    assert third.id > second.id
    assert third.task_id > second.task_id


def deployed(services: Services, account: Account) -> int:
    """A network whose deployment is recorded as successful (its files are random bytes)."""
    network = create(services, account)
    asyncio.run(services.tasks.wait(account, network.task_id, 30))
    with services.db.session() as session:
        deployment = session.get(TaskRow, network.task_id)
        deployment.status, deployment.error = "success", None
        session.get(NetworkRow, network.id).outputs = ["out"]
    return network.id


def test_a_network_deleted_by_another_process_refuses_inference_at_once(services, account):
    network_id = deployed(services, account)
    assert asyncio.run(services.networks.infer(account, network_id, request()))  # now cached
    before = task_rows(services, account)
    with services.db.session() as session:  # as another replica's delete would
        session.execute(delete(NetworkRow).where(NetworkRow.id == network_id))
    with pytest.raises(NotFound, match=f"no network {network_id}"):
        asyncio.run(services.networks.infer(account, network_id, request()))
    assert task_rows(services, account) == before


def test_a_slug_moved_by_another_process_reaches_its_new_network(services, account, admin):
    first, second = deployed(services, account), deployed(services, account)
    slug = f"moving-{uuid.uuid4().hex[:8]}"
    services.networks.publish(admin, first, slug)
    asyncio.run(services.networks.infer(account, slug, request()))  # slug -> first, cached
    with services.db.session() as session:  # another replica publishes anew
        session.get(NetworkRow, first).public_id = None
        session.flush()
        session.get(NetworkRow, second).public_id = slug
    task_id = asyncio.run(services.networks.infer(account, slug, request()))
    with services.db.session() as session:
        assert session.get(TaskRow, task_id).network_id == second
