"""The OpenAPI document and interactive docs that work with no internet access.

Swagger UI's files come from the ``swagger-ui-bundle`` package and are served by the app
itself. That bundle is Swagger UI 4, which reads OpenAPI 3.0 only, so the document is
written as 3.0 (``nullable`` instead of a ``null`` member in ``anyOf``).

Request bodies are read by :mod:`vulcain.api.reading` (three encodings), not by FastAPI, so
each route describes its body with :func:`request_body`, and the models it names are added
to the document's components.
"""

from __future__ import annotations

from typing import Any

import swagger_ui_bundle
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from pydantic import BaseModel
from starlette.staticfiles import StaticFiles

_REF = "#/components/schemas/{model}"


def request_body(model: type[BaseModel], *, files: bool = False) -> dict[str, Any]:
    """``openapi_extra`` for a route whose body is ``model`` in any of the three encodings
    (plus arbitrary file parts when ``files``)."""
    reference = {"$ref": _REF.format(model=model.__name__)}
    form: dict[str, Any] = {"allOf": [reference]}
    if files:
        form = {
            "allOf": [reference],
            "additionalProperties": {"type": "string", "format": "binary"},
        }
    return {
        "requestBody": {
            "required": True,
            "description": (
                "JSON; or multipart/form-data with structured fields as JSON strings or "
                "flattened keys (preprocessing.inputs[0]tensor_name)"
                + ("; network files as parts named by their file name" if files else "")
            ),
            "content": {
                "application/json": {"schema": reference},
                "multipart/form-data": {"schema": form},
                "application/x-www-form-urlencoded": {"schema": reference},
            },
        },
    }


def _to_openapi_30(node: Any) -> Any:
    if isinstance(node, list):
        return [_to_openapi_30(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _to_openapi_30(value) for key, value in node.items()}
    for key in ("anyOf", "oneOf"):
        members = node.get(key)
        if isinstance(members, list) and {"type": "null"} in members:
            rest = [member for member in members if member != {"type": "null"}]
            del node[key]
            if len(rest) == 1:
                node.update({"allOf": rest} if "$ref" in rest[0] else rest[0])
            else:
                node[key] = rest
            node["nullable"] = True
    if "const" in node:
        node["enum"] = [node.pop("const")]
    if isinstance(node.get("examples"), list) and "example" not in node:
        examples = node.pop("examples")
        if examples:
            node["example"] = examples[0]
    return node


def build_openapi(app: FastAPI, body_models: tuple[type[BaseModel], ...]) -> dict[str, Any]:
    document = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for model in body_models:
        schema = model.model_json_schema(ref_template=_REF)
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    converted: dict[str, Any] = _to_openapi_30(document)
    converted["openapi"] = "3.0.3"
    return converted


def install_docs(app: FastAPI, prefix: str, body_models: tuple[type[BaseModel], ...]) -> None:
    """``{prefix}/openapi.json``, ``{prefix}/docs`` and the Swagger UI files it loads."""
    openapi_path = f"{prefix}/openapi.json"
    static_path = f"{prefix}/docs/static"

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(app, body_models)
        return app.openapi_schema

    # FastAPI's documented way to serve another schema is to replace this method.
    app.openapi = openapi  # type: ignore[method-assign]  # replaced on purpose, see above

    async def openapi_json(request: Request) -> dict[str, Any]:
        return app.openapi()

    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_swagger_ui_html(
            openapi_url=root + openapi_path,
            title=f"{app.title} - API documentation",
            swagger_js_url=f"{root}{static_path}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{static_path}/swagger-ui.css",
            swagger_favicon_url=f"{root}{static_path}/favicon-32x32.png",
        )

    app.add_api_route(openapi_path, openapi_json, include_in_schema=False)
    app.add_api_route(f"{prefix}/docs", swagger_ui, include_in_schema=False)
    app.mount(
        static_path,
        StaticFiles(directory=swagger_ui_bundle.swagger_ui_path),
        name="swagger-ui",
    )
