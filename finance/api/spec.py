"""The OpenAPI 3.1 document, made from the registered operations and the JSON Schema of their pydantic
models (pydantic writes JSON Schema 2020-12, the dialect of OpenAPI 3.1): what validates a request is what
the document says, so the two cannot drift."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from finance.api.framework import Api, Operation
from finance.api.idempotency import HEADER, KEY_PATTERN
from finance.api.problems import PROBLEM_JSON, ProblemType
from finance.api.schemas import ProblemOut
from finance.params import MAX_ID

REF = "#/components/schemas/{model}"
KEY_TEXT = "每个 POST 一个键：同一键、同一内容再发，返回第一次的结果而不再执行；24 小时后过期。"
STATUS_TEXT = {200: "成功", 201: "已创建", 400: "请求无效（缺少 Idempotency-Key 或含无效字符）", 401: "未认证",
               403: "无权操作", 404: "不存在或不在管辖范围内", 405: "方法不允许", 409: "状态冲突：已被处理或状态不允许",
               413: "请求太大", 415: "内容类型不正确", 422: "输入有误，或 Idempotency-Key 已用于不同的请求",
               429: "请求过于频繁", 500: "系统出错"}


def _path_param(name: str, converter: str) -> dict[str, Any]:
    if converter == "int":
        schema: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
    else:
        schema = {"type": "string", "pattern": r"^[A-Za-z0-9:_-]{1,64}$"}
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _query_params(model: type[BaseModel], defs: dict[str, Any]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=REF, mode="validation")
    defs.update(schema.pop("$defs", {}))
    required = set(schema.get("required", ()))
    out = []
    for name, prop in schema.get("properties", {}).items():
        param = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if "description" in prop:
            param["description"] = prop["description"]
        out.append(param)
    return out


def _multipart(op: Operation) -> dict[str, Any]:
    assert op.form is not None
    schema = op.form.model_json_schema(ref_template=REF, mode="validation")
    props = dict(schema.get("properties", {}))
    required = list(schema.get("required", []))
    for name in op.files:
        props[name] = {"type": "string", "format": "binary", "contentMediaType": "application/octet-stream"}
        required.append(name)
    body = {"type": "object", "properties": props, "required": required, "additionalProperties": False}
    return {"required": True, "content": {"multipart/form-data": {"schema": body}}}


def _operation(op: Operation, refs: dict[Any, Any], defs: dict[str, Any]) -> dict[str, Any]:
    params = [_path_param(name, conv) for name, conv in op.path_params]
    if op.query is not None:
        params += _query_params(op.query, defs)
    if op.method == "POST":
        params.append({"name": HEADER, "in": "header", "required": True, "description": KEY_TEXT,
                       "schema": {"type": "string", "pattern": KEY_PATTERN}})
    out: dict[str, Any] = {"operationId": op.endpoint, "summary": op.summary, "tags": [op.tag]}
    if op.description:
        out["description"] = op.description
    if params:
        out["parameters"] = params
    if op.body is not None:
        out["requestBody"] = {"required": True,
                              "content": {"application/json": {"schema": refs[(op.body, "validation")]}}}
    elif op.form is not None:
        out["requestBody"] = _multipart(op)
    responses: dict[str, Any] = {}
    problem = {PROBLEM_JSON: {"schema": refs[(ProblemOut, "serialization")]}}
    for status in op.statuses():
        text = STATUS_TEXT.get(status, "")
        if status == op.status:
            if op.produces:
                responses[str(status)] = {"description": text, "content": {
                    media: {"schema": {"type": "string", "format": "binary"}} for media in op.produces}}
            elif op.response is not None:
                responses[str(status)] = {"description": text, "content": {
                    "application/json": {"schema": refs[(op.response, "serialization")]}}}
            else:
                responses[str(status)] = {"description": text}
            if status == 201:
                responses[str(status)]["headers"] = {"Location": {"schema": {"type": "string"}}}
        else:
            responses[str(status)] = {"description": text, "content": problem}
    out["responses"] = responses
    if op.public:
        out["security"] = []
    return out


def build(api: Api) -> dict[str, Any]:
    wanted: list[tuple[type[BaseModel], Any]] = [(ProblemOut, "serialization")]
    for op in api.operations:
        if op.body is not None:
            wanted.append((op.body, "validation"))
        if op.response is not None:
            wanted.append((op.response, "serialization"))
    wanted = list(dict.fromkeys(wanted))
    refs, top = models_json_schema(wanted, ref_template=REF)
    defs: dict[str, Any] = dict(top.get("$defs", {}))
    paths: dict[str, dict[str, Any]] = {}
    for op in api.operations:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, refs, defs)
    tags = sorted({op.tag for op in api.operations})
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "三资网报 API",
            "version": "1.0.0",
            "description": (
                "村级支出申请、审批、支付与审计轨迹的 JSON 接口。用个人 API 令牌认证（Authorization: Bearer），"
                "令牌代表其用户：角色、管辖范围、不相容职务分离与网页完全相同。金额为两位小数的字符串，时间带时区偏移。"
                "错误为 RFC 9457 问题详情（application/problem+json）。"),
        },
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "servers": [{"url": "/"}],
        "tags": [{"name": t, "description": api.tags.get(t, t)} for t in tags],
        "paths": paths,
        "components": {
            "schemas": defs,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "个人 API 令牌（在“API 令牌”页面创建）"}},
        },
        "security": [{"bearer": []}],
        "x-problem-types": [{"type": kind.uri, "status": kind.status} for kind in ProblemType],
    }


@cache
def document(api: Api) -> dict[str, Any]:
    """The document of `api` (made once per process: the operations are fixed at start)."""
    return build(api)
