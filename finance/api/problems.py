"""Every 4xx and 5xx of /api/v1 as RFC 9457 problem details (`application/problem+json`): a stable `type`
(a URI reference to the problem's section of the API page), a short `title`, the `status`, a `detail` in
the user's language (Chinese by default) and, for invalid input, `errors`: one entry per field with its
own message. `Problem` is raised by the API's code; `from_http_error` turns any other error of an API
path (a 404 of routing, a 405, a 413, a NUL refused, a 429, a 500) into the same shape."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from flask import Response
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "/api/v1/docs#problem-"


class ProblemType(StrEnum):
    """The stable problem types. The values are part of the API: never change one, only add."""

    BAD_REQUEST = "bad-request"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not-found"
    METHOD_NOT_ALLOWED = "method-not-allowed"
    CONFLICT = "conflict"
    TOO_LARGE = "too-large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported-media-type"
    INVALID_INPUT = "invalid-input"
    IDEMPOTENCY_KEY_REUSED = "idempotency-key-reused"
    RATE_LIMITED = "rate-limited"
    SERVER_ERROR = "server-error"

    @property
    def uri(self) -> str:
        return TYPE_BASE + self.value

    @property
    def heading(self) -> str:
        """The problem's `title`."""
        return str(_TITLES[self])

    @property
    def status(self) -> int:
        return _STATUS[self]

    @property
    def default_detail(self) -> str:
        return str(_DETAILS[self])


_STATUS = {
    ProblemType.BAD_REQUEST: 400,
    ProblemType.UNAUTHORIZED: 401,
    ProblemType.FORBIDDEN: 403,
    ProblemType.NOT_FOUND: 404,
    ProblemType.METHOD_NOT_ALLOWED: 405,
    ProblemType.CONFLICT: 409,
    ProblemType.TOO_LARGE: 413,
    ProblemType.UNSUPPORTED_MEDIA_TYPE: 415,
    ProblemType.INVALID_INPUT: 422,
    ProblemType.IDEMPOTENCY_KEY_REUSED: 422,
    ProblemType.RATE_LIMITED: 429,
    ProblemType.SERVER_ERROR: 500,
}
_TITLES = {
    ProblemType.BAD_REQUEST: _l("请求无效"),
    ProblemType.UNAUTHORIZED: _l("未认证"),
    ProblemType.FORBIDDEN: _l("无权操作"),
    ProblemType.NOT_FOUND: _l("不存在"),
    ProblemType.METHOD_NOT_ALLOWED: _l("操作无效"),
    ProblemType.CONFLICT: _l("状态冲突"),
    ProblemType.TOO_LARGE: _l("请求太大"),
    ProblemType.UNSUPPORTED_MEDIA_TYPE: _l("内容类型不支持"),
    ProblemType.INVALID_INPUT: _l("输入有误"),
    ProblemType.IDEMPOTENCY_KEY_REUSED: _l("幂等键已用于其他请求"),
    ProblemType.RATE_LIMITED: _l("请求过于频繁"),
    ProblemType.SERVER_ERROR: _l("系统出错"),
}
_DETAILS = {
    ProblemType.BAD_REQUEST: _l("请求格式不正确。"),
    ProblemType.UNAUTHORIZED: _l("请在 Authorization 头中提供有效的 API 令牌（Bearer）。"),
    ProblemType.FORBIDDEN: _l("您没有执行此操作的权限。"),
    ProblemType.NOT_FOUND: _l("您要找的内容不存在，或不在您的管辖范围内。"),
    ProblemType.METHOD_NOT_ALLOWED: _l("此地址不接受这种请求方法。"),
    ProblemType.CONFLICT: _l("该事项已被处理，请重新读取最新状态。"),
    ProblemType.TOO_LARGE: _l("请求超过大小限制。"),
    ProblemType.UNSUPPORTED_MEDIA_TYPE: _l("请求正文的内容类型不正确。"),
    ProblemType.INVALID_INPUT: _l("输入有误，请检查各字段的说明。"),
    ProblemType.IDEMPOTENCY_KEY_REUSED: _l("该 Idempotency-Key 已用于内容不同的请求，请为新请求使用新的键。"),
    ProblemType.RATE_LIMITED: _l("请求过于频繁，请稍后再试。"),
    ProblemType.SERVER_ERROR: _l("系统暂时出错，您的操作没有生效，请稍后重试。"),
}
_BY_STATUS = {
    400: ProblemType.BAD_REQUEST, 401: ProblemType.UNAUTHORIZED, 403: ProblemType.FORBIDDEN,
    404: ProblemType.NOT_FOUND, 405: ProblemType.METHOD_NOT_ALLOWED, 409: ProblemType.CONFLICT,
    413: ProblemType.TOO_LARGE, 415: ProblemType.UNSUPPORTED_MEDIA_TYPE, 422: ProblemType.INVALID_INPUT,
    429: ProblemType.RATE_LIMITED,
}


class Problem(Exception):
    """An API answer other than success. `errors` maps field names to their messages."""

    def __init__(self, kind: ProblemType, detail: str | None = None, errors: dict[str, str] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail or kind.value)
        self.kind = kind
        self.detail = detail
        self.errors = errors or {}
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.kind.uri, "title": self.kind.heading, "status": self.kind.status,
                               "detail": self.detail or self.kind.default_detail}
        if self.errors:
            out["errors"] = [{"field": name, "detail": str(message)} for name, message in self.errors.items()]
        return out

    def response(self) -> Response:
        response = Response(json.dumps(self.body(), ensure_ascii=False), status=self.kind.status,
                            mimetype=PROBLEM_JSON)
        for name, value in self.headers.items():
            response.headers[name] = value
        return response


def from_http_error(error: Exception) -> Response:
    """Any error of an API path as a problem: werkzeug's (and the app's `abort(...)`) by status, with the
    app's own message when it gave one; anything else is a 500."""
    if isinstance(error, Problem):
        return error.response()
    code = error.code if isinstance(error, HTTPException) and error.code else 500
    kind = _BY_STATUS.get(code, ProblemType.SERVER_ERROR if code >= 500 else ProblemType.BAD_REQUEST)
    description = getattr(error, "description", None)
    default = getattr(type(error), "description", None)
    detail = None
    if isinstance(description, str) and description != default and not description.startswith(
            ("The ", "CSRF", "Bad")):
        detail = description  # a message the app gave (in Chinese), not werkzeug's English default
    headers = {}
    retry_after = getattr(error, "retry_after", None)
    if code == 429 and retry_after:
        headers["Retry-After"] = str(int(retry_after))
    if code == 405 and isinstance(error, HTTPException):
        allow = error.get_headers().__iter__()
        headers.update({k: v for k, v in allow if k == "Allow"})
    problem = Problem(kind, detail, headers=headers)
    response = problem.response()
    if code >= 500:
        response.status_code = code if code in (500, 502, 503) else 500
    return response

