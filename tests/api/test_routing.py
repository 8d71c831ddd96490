"""Routes with and without trailing slash, auth, the error shape of routing and body
failures, the size limit, offline docs, health and readiness."""

from __future__ import annotations

import json

import pytest

from tests.api.conftest import PREPROCESSING, create_onnx, footprint


def _routes(network_id: int, task_id: int) -> list[tuple[str, str, dict, int]]:
    """Every route: method, path, request keywords, expected status."""
    infer = {"json": {"inputs": [{"image": {"source": "data:image/*;base64,AA=="}}]}}
    return [
        ("GET", "/v0.7/networks", {}, 200),
        ("POST", "/v0.7/networks", {"json": {"name": "x"}}, 400),
        ("GET", "/v0.7/networks/public", {}, 200),
        ("GET", f"/v0.7/networks/{network_id}", {}, 200),
        ("PATCH", f"/v0.7/networks/{network_id}", {"json": {"description": "d"}}, 200),
        ("GET", "/v0.7/networks/public/slug", {}, 200),
        ("PATCH", "/v0.7/networks/public/slug", {"json": {"description": "e"}}, 200),
        ("POST", f"/v0.7/networks/{network_id}/inference", infer, 400),
        ("POST", "/v0.7/networks/public/slug/inference", infer, 400),
        ("POST", f"/v0.7/networks/{network_id}/publish", {"json": {"public_id": "slug2"}}, 200),
        ("GET", "/v0.7/tasks", {"params": {"task_ids": task_id}}, 200),
        ("GET", f"/v0.7/tasks/{task_id}", {}, 200),
        ("GET", "/v0.7/accounts/me", {}, 200),
        ("GET", "/health", {}, 200),
        ("GET", "/ready", {}, 200),
        ("GET", "/v0.7/openapi.json", {}, 200),
        ("GET", "/v0.7/docs", {}, 200),
    ]


def test_every_route_answers_with_and_without_trailing_slash(client, admin, onnx_files):
    created = create_onnx(client, admin, onnx_files).json()
    client.post(
        f"/v0.7/networks/{created['id']}/publish", headers=admin, json={"public_id": "slug"}
    )
    for method, path, kwargs, status in _routes(created["id"], created["task_id"]):
        for url in (path, path + "/"):
            response = client.request(method, url, headers=admin, **kwargs)
            assert response.status_code == status, (method, url, response.text)
            assert "location" not in response.headers
    deleted = client.delete(f"/v0.7/networks/{created['id']}/", headers=admin)
    assert deleted.status_code == 204
    second = create_onnx(client, admin, onnx_files).json()
    assert client.delete(f"/v0.7/networks/{second['id']}", headers=admin).status_code == 204


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, "Missing API key"),
        ({"X-API-KEY": "wrong"}, "Invalid API key"),
        ({"X-API-KEY": "admin-test-key", "X-APP-ID": "not-mine"}, "X-APP-ID"),
    ],
)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v0.7/networks"),
        ("POST", "/v0.7/networks"),
        ("GET", "/v0.7/tasks/1"),
        ("GET", "/v0.7/accounts/me/"),
        ("DELETE", "/v0.7/networks/1"),
    ],
)
def test_missing_or_wrong_key_is_a_401_sentence(client, headers, expected, method, path):
    response = client.request(method, path, headers=headers)
    assert response.status_code == 401
    assert expected in response.json()["error"]


def test_app_id_is_accepted_when_it_matches(client, other):
    response = client.get("/v0.7/accounts/me", headers=other)
    assert response.status_code == 200
    assert response.json()["app_id"] == other["X-APP-ID"]
    assert "api_key" not in response.json()


def test_unknown_route_and_wrong_method(client, admin):
    response = client.get("/v0.7/networkz", headers=admin)
    assert response.status_code == 404
    assert "/v0.7/networkz" in response.json()["error"]
    response = client.put("/v0.7/networks/1/", headers=admin)
    assert response.status_code == 405
    assert response.json()["error"].startswith("PUT is not allowed on /v0.7/networks/1")
    assert {"GET", "PATCH", "DELETE"} <= set(response.headers["allow"].split(", "))


def test_unsupported_content_type_is_a_415(client, admin):
    response = client.post(
        "/v0.7/networks", headers={**admin, "Content-Type": "text/plain"}, content=b"name=x"
    )
    assert response.status_code == 415
    assert "application/json" in response.json()["error"]


def test_invalid_query_parameters_are_400_with_fields(client, admin):
    for query, field in (
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("offset=-1", "offset"),
        ("limit=ten", "limit"),
    ):
        response = client.get(f"/v0.7/networks?{query}", headers=admin)
        assert response.status_code == 400, query
        assert field in response.json()["fields"]
    response = client.get("/v0.7/tasks?task_ids=1&task_ids=x", headers=admin)
    assert response.status_code == 400
    assert "task_ids" in response.json()["error"]


def test_broken_bodies_are_400_not_500(client, admin):
    for headers, content in (
        ({"Content-Type": "application/json"}, b'{"name": '),
        ({"Content-Type": "application/json"}, b"\xff\xfe"),
        ({"Content-Type": "multipart/form-data"}, b"--x\r\n"),
        ({"Content-Type": "multipart/form-data; boundary=x"}, b"garbage"),
        ({"Content-Type": "application/x-www-form-urlencoded"}, b"a[x]=1"),
    ):
        response = client.post("/v0.7/networks", headers={**admin, **headers}, content=content)
        assert response.status_code == 400, (content, response.text)
        assert response.json()["error"]


def test_oversize_upload_is_a_413_and_leaves_nothing(client, admin, api_settings, services):
    before = footprint(services)
    big = b"\0" * (api_settings.max_upload_bytes + 1)
    data = {"name": "big", "framework": "onnx", "preprocessing": json.dumps(PREPROCESSING)}
    response = client.post(
        "/v0.7/networks", headers=admin, data=data, files={"model.onnx": ("m", big)}
    )
    assert response.status_code == 413
    assert "VULCAIN_MAX_UPLOAD_BYTES" in response.json()["error"]

    async def chunks():
        yield b'--b\r\nContent-Disposition: form-data; name="model.onnx"; filename="m"\r\n\r\n'
        for _ in range(8):
            yield b"\0" * (api_settings.max_upload_bytes // 4)

    # No Content-Length: the streamed bytes are counted.
    response = client.post(
        "/v0.7/networks",
        headers={**admin, "Content-Type": "multipart/form-data; boundary=b"},
        content=chunks(),
    )
    assert response.status_code == 413
    assert client.get("/v0.7/networks", headers=admin).json()["count"] == 0
    # Nothing new in the database, the blobs or the scratch folder of uploads.
    assert footprint(services) == before


def test_offline_docs_and_openapi(client):
    page = client.get("/v0.7/docs")
    assert page.status_code == 200
    assert "http://" not in page.text and "https://" not in page.text
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert f"/v0.7/docs/static/{asset}" in page.text
        assert client.get(f"/v0.7/docs/static/{asset}").status_code == 200
    document = client.get("/v0.7/openapi.json").json()
    assert document["openapi"].startswith("3.0")
    assert "/v0.7/networks/{network_id}/inference" in document["paths"]
    create = document["paths"]["/v0.7/networks"]["post"]["requestBody"]["content"]
    assert {"application/json", "multipart/form-data", "application/x-www-form-urlencoded"} <= set(
        create
    )
    assert "NetworkCreate" in document["components"]["schemas"]
    fields = document["components"]["schemas"]["NetworkCreate"]["properties"]
    assert fields["framework"]["enum"] == ["nv-caffe-0.x-mod", "tensorflow-1.x", "onnx"]
    assert (fields["name"]["minLength"], fields["name"]["maxLength"]) == (1, 255)
    assert "Preprocessing" in document["components"]["schemas"]
    assert '"type": "null"' not in json.dumps(document)


def test_health_and_ready(client, services):
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").json() == {"status": "ready"}
    services.close()
    response = client.get("/ready")
    assert response.status_code == 503
    assert "error" in response.json()
    assert client.get("/health").status_code == 200
