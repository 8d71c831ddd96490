from __future__ import annotations

import pytest

from vulcain.client import ClientError, ImageInput, Task, TaskTimeout


@pytest.fixture(scope="module")
def png(image_dir) -> bytes:
    return (image_dir / "image.png").read_bytes()


def test_retrieve_and_wait(client, identity_network, png):
    started = identity_network.start_inference([ImageInput(png, encoding="binary")], ["out"])
    task = client.Task.retrieve(started.id)
    assert task.id == started.id
    assert task.status in ("pending", "success")
    assert task.wait(timeout=60) is task
    assert task.status == task["status"] == "success"
    assert task.error is None
    assert task.data["tensors"][0]["name"] == "out"
    assert task.data["tensors"][0]["shape"] == task.data["tensors"][0]["dims"] == [1, 3, 6, 8]
    assert task.tensors()["out"].shape == (1, 3, 6, 8)


def test_list_by_ids(client, identity_network, png):
    tasks = [
        identity_network.start_inference([ImageInput(png, encoding="binary")], ["out"])
        for _ in range(3)
    ]
    listed = client.Task.list(task_ids=[task.id for task in tasks])
    assert sorted(task.id for task in listed) == sorted(task.id for task in tasks)
    assert all(isinstance(task, Task) for task in listed)


def test_batch_wait_over_twenty_inferences(client, identity_network, png, image_dir):
    good = ImageInput(png, encoding="binary")
    junk = ImageInput((image_dir / "not-an-image.png").read_bytes(), encoding="binary")
    tasks = [
        identity_network.start_inference([junk if i in (3, 11) else good], ["out"])
        for i in range(20)
    ]
    pending, success, error = client.Task.batch_wait(tasks=tasks, timeout=120)
    assert pending == []
    assert [position for position, _ in error] == [3, 11]
    assert [position for position, _ in success] == [i for i in range(20) if i not in (3, 11)]
    for position, task in success:
        assert task.id == tasks[position].id
        assert task.tensors()["out"].shape == (1, 3, 6, 8)
    assert all(task.error for _, task in error)


def test_wait_times_out_on_a_pending_task(client, identity_network, png):
    task = identity_network.start_inference([ImageInput(png, encoding="binary")], ["out"])
    with pytest.raises(TaskTimeout) as caught:
        task.wait(timeout=0)
    assert caught.value.task is task
    task.wait(timeout=60)


def test_unknown_task_is_a_404(client):
    with pytest.raises(ClientError) as caught:
        client.Task.retrieve(987654321)
    assert caught.value.status_code == 404


def test_wait_holds_one_long_poll_instead_of_polling(proxied, proxy, identity_network, png):
    network = proxied.Network.retrieve(identity_network.id)
    task = network.start_inference([ImageInput(png, encoding="binary")], ["out"])
    task.wait(timeout=60)
    polls = [path for method, path in proxy.seen if path.startswith(f"/v0.7/tasks/{task.id}")]
    assert 1 <= len(polls) <= 2
    assert all("wait=" in path for path in polls)


def test_wait_still_works_with_a_server_that_answers_at_once(proxied, proxy, identity_network, png):
    proxy.ignore_wait = True
    network = proxied.Network.retrieve(identity_network.id)
    tasks = [
        network.start_inference([ImageInput(png, encoding="binary")], ["out"]) for _ in range(4)
    ]
    for task in tasks:
        assert task.wait(timeout=60).status == "success"
