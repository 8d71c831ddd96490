from __future__ import annotations

import io
import threading
import uuid

from sqlalchemy import select

from tests.services.test_networks import create
from vulcain.db.models import NetworkFileRow


def test_removing_a_blob_never_breaks_a_concurrent_upload_of_it(services, account, settings):
    content = uuid.uuid4().bytes * 64
    errors: list[BaseException] = []

    def churn() -> None:
        try:
            for _ in range(6):
                network = create(services, account, files={"model.onnx": io.BytesIO(content)})
                services.networks.delete(account, network.id)
            create(services, account, files={"model.onnx": io.BytesIO(content)})
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=churn) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    count, survivors = services.networks.list(account, public=False, offset=0, limit=100)
    assert count == 3
    with services.db.session() as session:
        keys = set(
            session.scalars(
                select(NetworkFileRow.sha256).where(
                    NetworkFileRow.network_id.in_([n.id for n in survivors])
                )
            )
        )
    assert len(keys) == 1
    assert services.storage.path(keys.pop()).read_bytes() == content
