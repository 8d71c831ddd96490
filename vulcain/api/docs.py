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
    (plus arbitrary file parts when ``files``).

    The multipart form lists the model's fields itself (a generator reads ``properties``,
    not an ``allOf``), each object or list of objects as one part holding JSON (its
    ``encoding``), a list of strings as a repeated part, and the network files as any other
    part, named by the file name."""
    reference = {"$ref": _REF.format(model=model.__name__)}
    schema = model.model_json_schema(ref_template=_REF)
    properties: dict[str, Any] = schema.get("properties", {})
    form: dict[str, Any] = {"type": "object", "properties": properties}
    if schema.get("required"):
        form["required"] = schema["required"]
    if files:
        form["additionalProperties"] = {
            "type": "string",
            "format": "binary",
            "description": (
                "a network file: a part named by its file name, sent as a file (with a "
                "filename in its Content-Disposition, as curl -F name=@path does)"
            ),
        }
    else:
        form["additionalProperties"] = False
    encoding = {
        name: {"contentType": "application/json"}
        for name, field in properties.items()
        if _is_structured(field)
    }
    multipart: dict[str, Any] = {"schema": form}
    if encoding:
        multipart["encoding"] = encoding
    return {
        "requestBody": {
            "required": True,
            "description": (
                "JSON; or multipart/form-data with structured fields as JSON parts (or "
                "flattened keys such as preprocessing.inputs[0]tensor_name)"
                + ("; network files as parts named by their file name" if files else "")
                + "; or application/x-www-form-urlencoded with flattened keys"
            ),
            "content": {
                "application/json": {"schema": reference},
                "multipart/form-data": multipart,
                "application/x-www-form-urlencoded": {"schema": reference},
            },
        },
    }


def _is_structured(field: dict[str, Any]) -> bool:
    """Whether a field's schema is an object (or a list of objects): sent as a JSON part."""
    if "$ref" in field or field.get("type") == "object":
        return True
    members = field.get("anyOf", []) + field.get("allOf", [])
    if any(_is_structured(member) for member in members):
        return True
    return field.get("type") == "array" and _is_structured(field.get("items", {}))


ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Error",
    "required": ["error"],
    "properties": {
        "error": {"type": "string", "description": "What is wrong and what to fix."},
        "fields": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "The problem of each field, by its dotted path.",
        },
    },
}

_ERRORS = {
    400: "The request is invalid: `error` says what to fix, `fields` which fields",
    401: "No API key, an unknown one, or an X-APP-ID that is not the key's",
    403: "The account may see this network but not do this to it",
    404: "No such network or task among those this account may see",
    408: "The request body stopped arriving (VULCAIN_BODY_READ_TIMEOUT_SECONDS)",
    413: "The body, or an image in it, is larger than allowed",
    415: "The content type is none of JSON, multipart/form-data, form-urlencoded",
    429: "Too many requests of this account held at once",
}


def _errors_sent(operation: dict[str, Any]) -> set[int]:
    """The error statuses an operation can answer, from what it takes."""
    places = {parameter["in"] for parameter in operation.get("parameters", [])}
    names = {parameter["name"] for parameter in operation.get("parameters", [])}
    sent = {int(status) for status in operation.get("responses", {}) if status[:1] == "4"}
    if "X-API-KEY" in names:
        sent.add(401)
    if "query" in places:
        sent.add(400)
    if "path" in places:
        sent.add(404)
    if "requestBody" in operation:
        sent |= {400, 408, 413, 415}
    return sent


def _document_errors(document: dict[str, Any]) -> None:
    """Every error status each operation sends, each body ``{"error", "fields"}``; none of
    FastAPI's 422, which is never sent (validation errors answer 400)."""
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            for status in sorted(_errors_sent(operation)):
                entry = responses.setdefault(str(status), {})
                entry["description"] = entry.get("description") or _ERRORS[status]
                entry["content"] = {
                    "application/json": {"schema": {"$ref": _REF.format(model="Error")}}
                }
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["Error"] = ERROR_SCHEMA


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
    for bound, inclusive in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        value = node.get(bound)
        if isinstance(value, int | float) and not isinstance(value, bool):
            node[inclusive], node[bound] = value, True  # 3.0 writes the bound beside
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
    _document_errors(document)
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
