"""The served OpenAPI document (/api/v1/openapi.json) and the readable API page (/api/v1/docs), which
renders that document on the server: it loads nothing from any other host."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, render_template

from finance.api import spec
from finance.api.framework import api
from finance.api.problems import ProblemType


def openapi_json() -> Response:
    body = json.dumps(spec.document(api), ensure_ascii=False, indent=1)
    response = Response(body, mimetype="application/json")
    response.headers["Cache-Control"] = "no-cache"
    return response


def _rows(schema: dict[str, Any], components: dict[str, Any]) -> list[dict[str, Any]]:
    """A model's fields as rows of a table: name, type, required, description."""
    if "$ref" in schema:
        schema = components.get(schema["$ref"].rsplit("/", 1)[-1], {})
    required = set(schema.get("required", ()))
    rows = []
    for name, prop in schema.get("properties", {}).items():
        rows.append({"name": name, "type": _type(prop), "required": name in required,
                     "description": prop.get("description") or prop.get("title", "")})
    return rows


def _type(prop: dict[str, Any]) -> str:
    if "$ref" in prop:
        return prop["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in prop:
        return " | ".join(_type(p) for p in prop["anyOf"])
    if prop.get("type") == "array":
        return f"[{_type(prop.get('items', {}))}]"
    if "enum" in prop:
        return " | ".join(str(v) for v in prop["enum"])
    text = str(prop.get("type", "any"))
    if fmt := prop.get("format"):
        text += f" ({fmt})"
    elif prop.get("pattern") and prop.get("type") == "string":
        text += " (" + ("金额" if "[0-9]" in prop["pattern"] and "." in prop["pattern"] else "格式") + ")"
    return text


def docs_page() -> str:
    document = spec.document(api)
    components = document["components"]["schemas"]
    sections: dict[str, list[dict[str, Any]]] = {}
    for path, methods in document["paths"].items():
        for method, op in methods.items():
            body: dict[str, Any] = op.get("requestBody", {}).get("content", {})
            media, content = next(iter(body.items()), (None, {}))
            content = dict(content)
            ok: dict[str, Any] = next((r for s, r in op["responses"].items() if s.startswith("2")), {})
            first: dict[str, Any] = next(iter(ok.get("content", {}).values()), {})
            answer: dict[str, Any] = first.get("schema", {})
            sections.setdefault(op["tags"][0], []).append({
                "id": op["operationId"], "method": method.upper(), "path": path, "summary": op["summary"],
                "description": op.get("description", ""), "parameters": op.get("parameters", []),
                "body_media": media, "body": _rows(content.get("schema", {}), components) if content else [],
                "answer": _rows(answer, components) if answer else [],
                "answer_name": answer.get("$ref", "").rsplit("/", 1)[-1],
                "statuses": [(s, r["description"]) for s, r in op["responses"].items()],
            })
    labels = {t["name"]: t.get("description", t["name"]) for t in document["tags"]}
    return render_template("api/docs.html", sections=sections, info=document["info"], labels=labels,
                           problems=list(ProblemType))
