"""Pages of networks and tasks, followed by their absolute next/previous links."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from tests.api.conftest import BASE, create_onnx


def _follow(client, headers, url: str, link: str) -> list[dict]:
    pages = []
    while url is not None:
        assert url.startswith(BASE + "/v0.7/"), url
        page = client.get(url.removeprefix(BASE), headers=headers).json()
        pages.append(page)
        url = page[link]
    return pages


def test_networks_across_pages_forward_and_back(client, admin, onnx_files):
    ids = [create_onnx(client, admin, onnx_files, name=f"n{i}").json()["id"] for i in range(7)]
    pages = _follow(client, admin, f"{BASE}/v0.7/networks/?limit=3", "next")
    assert [len(page["results"]) for page in pages] == [3, 3, 1]
    assert {page["count"] for page in pages} == {7}
    assert [n["id"] for page in pages for n in page["results"]] == sorted(ids)
    assert pages[0]["previous"] is None
    assert pages[-1]["next"] is None
    backwards = _follow(client, admin, pages[-1]["previous"], "previous")
    assert [n["id"] for page in reversed(backwards) for n in page["results"]] == sorted(ids)[:6]
    query = parse_qs(urlsplit(pages[1]["previous"]).query)
    assert query == {"limit": ["3"], "offset": ["0"]}


def test_defaults_and_an_offset_past_the_end(client, admin, onnx_files):
    create_onnx(client, admin, onnx_files)
    page = client.get("/v0.7/networks", headers=admin).json()
    assert (page["count"], page["next"], page["previous"], len(page["results"])) == (
        1,
        None,
        None,
        1,
    )
    page = client.get("/v0.7/networks?offset=10&limit=5", headers=admin).json()
    assert page["results"] == []
    assert page["next"] is None
    assert parse_qs(urlsplit(page["previous"]).query)["offset"] == ["0"]


def test_task_pages_keep_the_task_ids(client, admin, onnx_files):
    tasks = [create_onnx(client, admin, onnx_files).json()["task_id"] for _ in range(5)]
    wanted = tasks[:4]
    query = "&".join(f"task_ids={task}" for task in wanted)
    pages = _follow(client, admin, f"{BASE}/v0.7/tasks?{query}&limit=2", "next")
    assert [t["id"] for page in pages for t in page["results"]] == sorted(wanted)
    assert parse_qs(urlsplit(pages[0]["next"]).query)["task_ids"] == [str(t) for t in wanted]
    comma = client.get(f"/v0.7/tasks?task_ids={tasks[0]},{tasks[4]}", headers=admin).json()
    assert [t["id"] for t in comma["results"]] == [tasks[0], tasks[4]]


def test_an_offset_beyond_64_bits_is_a_400_not_a_500(client, admin, onnx_files):
    create_onnx(client, admin, onnx_files)
    for collection in ("tasks", "networks", "networks/public"):
        largest = client.get(f"/v0.7/{collection}?offset={2**63 - 1}", headers=admin)
        assert largest.status_code == 200, largest.text
        assert largest.json()["results"] == []
        beyond = client.get(f"/v0.7/{collection}?offset={2**63}", headers=admin)
        assert beyond.status_code == 400, beyond.text
        assert "offset" in beyond.json()["error"]
