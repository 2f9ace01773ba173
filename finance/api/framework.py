"""The API's one request pipeline, and the registry of its operations that the OpenAPI document is made
from. A feature adds an endpoint with the `api.operation(...)` decorator in its own `api.py` (see
docs/api.md); the decorator names the pydantic models of the query, the body and the answer, and this
module does the rest the same way for every endpoint:

    token           the blueprint's before_request (finance.api.auth): 401 without a live token
    parse           query, JSON body or multipart form validated by their models: 422 naming each field
    Idempotency-Key every POST: claimed in the action's transaction, replayed when sent again
    act             the view calls the feature's service (the pages' own); refusals become problems:
                    InputError 422, Forbidden 403, NotFound 404, NotAllowed/AlreadyHandled 409
    answer          the answer model as JSON (money as strings, times with their offset), committed

Nothing here knows a feature: no business rule lives in finance/api."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Response, g, request
from flask_babel import gettext as _
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import BaseConverter

from finance.api import idempotency
from finance.api.problems import PROBLEM_JSON, Problem, ProblemType
from finance.errors import AlreadyHandled, Forbidden, InputError, NotFound
from finance.extensions import db
from finance.params import MAX_ID
from finance.web import conflict_text
from finance.workflow import NotAllowed

PREFIX = "/api/v1"
ID_CONVERTER = "api_id"


class AnyDigits(BaseConverter):
    """`<int:...>` of an API rule: any run of digits routes, and an id past the database's (or 0) is a 404
    of the endpoint (werkzeug's bounded `int` left such a path to no rule: a 405 where the path exists)."""

    regex = r"[0-9]{1,30}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: Any) -> str:
        return str(int(value))
_RULE_ARG = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


@dataclass
class Created:
    """An answer that made something: 201 with its Location."""

    body: BaseModel
    location: str


@dataclass
class OneTime:
    """An answer holding a secret shown once (an activation code): it is not kept with the Idempotency-Key
    (only its SHA-256 is stored anywhere); the same key sent again is a 409 saying so, acting on nothing."""

    body: BaseModel


@dataclass
class Operation:
    """One endpoint, as the OpenAPI document describes it."""

    method: str
    rule: str
    endpoint: str
    summary: str
    tag: str
    description: str = ""
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    form: type[BaseModel] | None = None
    files: tuple[str, ...] = ()
    response: type[BaseModel] | None = None
    produces: tuple[str, ...] = ()  # a file answer (attachments): its media types
    status: int = 200
    errors: tuple[int, ...] = ()
    public: bool = False
    path_params: list[tuple[str, str]] = field(default_factory=list)

    @property
    def path(self) -> str:
        """The OpenAPI path: /requests/{request_id}."""
        return PREFIX + _RULE_ARG.sub(lambda m: "{" + m.group(2) + "}", self.rule)

    def statuses(self) -> list[int]:
        """Every status this operation answers with, as documented."""
        out = {self.status, *self.errors}
        if not self.public:
            out |= {401, 429}
        if self.path_params:
            out.add(404)
        if self.query is not None or self.body is not None or self.form is not None:
            out.add(422)
        if self.query is not None:
            out.add(400)  # a NUL character in the query string (finance.security.refuse_nul)
        if self.method == "POST":
            out |= {400, 422}
        if self.body is not None or self.form is not None:
            out.add(415)
        return sorted(out)


class Api:
    """The blueprint of /api/v1 and its operations."""

    def __init__(self) -> None:
        self.bp = Blueprint("api", __name__, url_prefix=PREFIX)
        self.operations: list[Operation] = []
        self.tags: dict[str, str] = {}

    def tag(self, name: str, label: str) -> str:
        """Name a group of endpoints (its label heads the group in the document and on the API page)."""
        self.tags[name] = label
        return name

    def operation(self, method: str, rule: str, *, summary: str, tag: str, description: str = "",
                  query: type[BaseModel] | None = None, body: type[BaseModel] | None = None,
                  form: type[BaseModel] | None = None, files: tuple[str, ...] = (),
                  response: type[BaseModel] | None = None, produces: tuple[str, ...] = (), status: int = 200,
                  errors: tuple[int, ...] = (), public: bool = False) -> Callable[[Callable[..., Any]], Any]:
        """Register `func` as `method rule`. `func` receives the path's arguments and, by name, `query`,
        `body` or `form` (validated models) and `files` (name -> (filename, bytes)); it returns a model
        of `response` (or `Created`, or a Response for a file). `errors`: the statuses the feature's
        services may answer beyond those every endpoint has (403, 409 ...)."""
        method = method.upper()

        def register(func: Callable[..., Any]) -> Callable[..., Any]:
            endpoint = func.__name__
            params = [(name, conv or "default") for conv, name in _RULE_ARG.findall(rule)]
            op = Operation(method=method, rule=rule, endpoint=endpoint, summary=summary, tag=tag,
                           description=description, query=query, body=body,
                           form=form, files=files, response=response, produces=produces, status=status,
                           errors=errors, public=public, path_params=params)
            if any(o.endpoint == endpoint for o in self.operations):
                raise ValueError(f"API endpoint {endpoint} registered twice")
            self.operations.append(op)

            def view(**path_args: Any) -> Response:
                return handle(op, func, path_args)

            self.bp.add_url_rule(rule.replace("<int:", f"<{ID_CONVERTER}:"), endpoint=endpoint, view_func=view,
                                 methods=[method])
            return func

        return register


def _validate(model: type[BaseModel], data: Any, where: str, *, json_text: bytes | None = None) -> BaseModel:
    """The model from a JSON body (strictly: a number is not a string, a date is a "YYYY-MM-DD" string) or
    from text fields (a query string, a form: their numbers and dates are parsed from text)."""
    try:
        if json_text is not None:
            return model.model_validate_json(json_text, strict=True)
        return model.model_validate(data, strict=False)
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors(include_url=False):
            name = ".".join(str(part) for part in error["loc"]) or where
            errors.setdefault(name, _field_message(error))
        raise Problem(ProblemType.INVALID_INPUT, _("输入有误：%(fields)s。", fields="、".join(errors)),
                      errors) from None


def _field_message(error: Any) -> str:
    """A field's message in the user's language, by the kind of error pydantic found."""
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return _("必填。")
    if kind == "extra_forbidden":
        return _("不认识的字段。")
    if kind == "string_pattern_mismatch":
        return _("格式不正确。")
    if kind in ("string_too_long", "too_long"):
        return _("太长（最多 %(n)s）。", n=ctx.get("max_length", ""))
    if kind in ("string_too_short", "too_short"):
        return _("太短（至少 %(n)s）。", n=ctx.get("min_length", ""))
    if kind.startswith(("greater_than", "less_than")):
        return _("超出允许的范围。")
    if kind.startswith(("int_", "decimal_")):
        return _("须为整数。") if kind.startswith("int_") else _("须为数字。")
    if kind.startswith("date"):
        return _("日期格式不正确，应为 YYYY-MM-DD。")
    if kind.startswith(("string_", "str_")):
        return _("须为文字。")
    if kind.startswith("bool"):
        return _("须为 true 或 false。")
    if kind in ("literal_error", "enum"):
        return _("不是允许的值之一。")
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return _("须为 JSON 对象。")
    if kind == "list_type":
        return _("须为数组。")
    return _("值不正确。")


def _parse(op: Operation) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    if op.query is not None:
        # Each known parameter by name, then any other (refused as unknown): a query key is never dropped.
        args = {k: request.args.get(k) for k in op.query.model_fields if k in request.args}
        args.update({k: v for k, v in request.args.items() if k not in args and k != "lang"})
        kwargs["query"] = _validate(op.query, args, "query")
    if op.body is not None:
        if request.mimetype != "application/json":
            raise Problem(ProblemType.UNSUPPORTED_MEDIA_TYPE, _("请求正文须为 application/json。"))
        data = request.get_json(silent=True)
        if data is None:
            message = _("请求正文不是有效的 JSON。")
            raise Problem(ProblemType.INVALID_INPUT, message, {"body": message})
        if nul := _nul_fields(data):  # PostgreSQL stores no NUL character, and no one types one
            message = _("含有无效的字符。")
            raise Problem(ProblemType.INVALID_INPUT, message, dict.fromkeys(nul, message))
        kwargs["body"] = _validate(op.body, data, "body", json_text=request.get_data(cache=True))
    if op.form is not None:
        if request.mimetype != "multipart/form-data":
            raise Problem(ProblemType.UNSUPPORTED_MEDIA_TYPE, _("请求正文须为 multipart/form-data。"))
        fields = {k: v for k, v in request.form.items() if k not in op.files}
        kwargs["form"] = _validate(op.form, fields, "form")
        from finance.api.uploads import read_files

        kwargs["files"] = read_files(op.files)
    return kwargs


def _nul_fields(value: Any, name: str = "") -> list[str]:
    """The fields of a JSON value whose text (or key) holds a NUL character."""
    if isinstance(value, str):
        return [name or "body"] if "\x00" in value else []
    if isinstance(value, dict):
        return [f for k, v in value.items() for f in ([f"{name}.{k}".lstrip(".")] if "\x00" in str(k) else
                                                        _nul_fields(v, f"{name}.{k}".lstrip(".")))]
    if isinstance(value, list):
        return [f for i, v in enumerate(value) for f in _nul_fields(v, f"{name}.{i}".lstrip("."))]
    return []


def _refusal(exc: Exception) -> Problem:
    if isinstance(exc, InputError):
        return Problem(ProblemType.INVALID_INPUT, str(exc), {k: str(v) for k, v in exc.errors.items()})
    if isinstance(exc, Forbidden):
        return Problem(ProblemType.FORBIDDEN)
    if isinstance(exc, NotFound):
        return Problem(ProblemType.NOT_FOUND)
    return Problem(ProblemType.CONFLICT, conflict_text(exc))


def _json(model: BaseModel) -> str:
    return model.model_dump_json()


def handle(op: Operation, func: Callable[..., Any], path_args: dict[str, Any]) -> Response:
    """Run one API request through the pipeline (see the module's table)."""
    for name, converter in op.path_params:
        if converter == "int" and not 1 <= path_args[name] <= MAX_ID:
            raise Problem(ProblemType.NOT_FOUND)
    key = print_ = None
    if op.method == "POST":
        key = idempotency.read_key(request)
    kwargs = {**path_args, **_parse(op)}
    claimed = None
    if key is not None:
        print_ = idempotency.fingerprint(request)
        claimed = idempotency.claim(g.api_user_id, key, print_)
        if isinstance(claimed, idempotency.Stored):
            db.session.rollback()
            return _replay(claimed)
    try:
        result = func(**kwargs)
    except (InputError, Forbidden, NotFound, NotAllowed, AlreadyHandled) as exc:
        db.session.rollback()  # the key's row goes too: a refused request may be corrected and sent again
        raise _refusal(exc) from None
    except HTTPException:
        db.session.rollback()
        raise
    if isinstance(result, Response):
        db.session.commit()
        return result
    status, location, kept = op.status, None, None
    if isinstance(result, Created):
        location = result.location
        result = result.body
    if isinstance(result, OneTime):
        result = result.body
        gone = Problem(ProblemType.CONFLICT, _("这一答复含只显示一次的内容（如激活码），不再重复；需要时请重新发放。"))
        kept = (gone.kind.status, json.dumps(gone.body(), ensure_ascii=False))
    body = _json(result)
    if isinstance(claimed, idempotency.IdempotencyKey):
        idempotency.settle(claimed, *(kept or (status, body)), location)
    db.session.commit()
    response = Response(body, status=status, mimetype="application/json")
    if location:
        response.headers["Location"] = location
    return response


def _replay(stored: idempotency.Stored) -> Response:
    response = Response(stored.body, status=stored.status,
                        mimetype=PROBLEM_JSON if stored.status >= 400 else "application/json")
    if stored.location:
        response.headers["Location"] = stored.location
    response.headers["Idempotent-Replayed"] = "true"
    return response


def problem_handler(exc: Problem) -> Response:
    db.session.rollback()
    return exc.response()


api = Api()  # the one registry: `from finance.api.framework import api`, then `@api.operation(...)`
