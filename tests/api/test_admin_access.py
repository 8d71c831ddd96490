"""Who sees a private network by its id: its owner and any admin (who may publish it, so
read and publish agree); nobody else, and nobody but its account sees a task."""

from __future__ import annotations

from tests.api.conftest import create_onnx


def test_an_admin_reads_publishes_and_edits_another_accounts_private_network(
    client, admin, other, onnx_files
):
    created = create_onnx(client, other, onnx_files, name="theirs").json()
    url = f"/v0.7/networks/{created['id']}"
    read = client.get(url, headers=admin)
    assert read.status_code == 200, read.text
    assert read.json() == created | {"update_date": read.json()["update_date"]}
    # Its own list stays its own.
    assert client.get("/v0.7/networks", headers=admin).json()["count"] == 0
    published = client.post(f"{url}/publish", headers=admin, json={"public_id": "theirs"})
    assert published.status_code == 200, published.text
    edited = client.patch(url, headers=admin, json={"description": "checked by an admin"})
    assert edited.status_code == 200, edited.text
    assert client.get(url, headers=other).json()["description"] == "checked by an admin"


def test_another_plain_account_sees_nothing_by_id(client, other, services, onnx_files):
    _, key = services.accounts.create("third")
    third = {"X-API-KEY": key}
    created = create_onnx(client, other, onnx_files).json()
    url = f"/v0.7/networks/{created['id']}"
    assert client.get(url, headers=third).status_code == 404
    assert client.patch(url, headers=third, json={"name": "x"}).status_code == 404
    assert client.delete(url, headers=third).status_code == 404
    published = client.post(f"{url}/publish", headers=third, json={"public_id": "x"})
    assert published.status_code == 403
    assert client.get(url, headers=other).json()["name"] == "net"


def test_a_long_poll_on_another_accounts_task_is_a_404(client, admin, other, onnx_files):
    """Tasks stay with the account that started them, whichever way they are read."""
    for owner, stranger in ((admin, other), (other, admin)):
        task_id = create_onnx(client, owner, onnx_files).json()["task_id"]
        for url in (f"/v0.7/tasks/{task_id}?wait=5", f"/v0.7/tasks/{task_id}?wait=0"):
            response = client.get(url, headers=stranger)
            assert response.status_code == 404, response.text
            assert response.json()["error"]
        assert client.get(f"/v0.7/tasks/{task_id}?wait=5", headers=owner).json()["id"] == task_id
