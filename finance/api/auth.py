"""Who an API request is: the user of its `Authorization: Bearer` token, and nothing else (a session
cookie does not sign in to the API; a token does not open a page). The token's user becomes the
request's user, so the services, `can()` and the jurisdiction filter see them exactly as on the pages;
the trail records the API and the token in the event's request id (`api-t<token id>-<id>`), which is
hashed into the chain. Each token has its own rate limit (finance.ratelimit, shared by every app
server)."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, g, request
from flask_babel import gettext as _

from finance import ratelimit
from finance.api import tokens
from finance.api.problems import Problem, ProblemType
from finance.extensions import db

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="sanzi"'}
RATE_SCOPE = "api"


def authenticate() -> None:
    """The blueprint's before_request: set the token's user as the request's user, or answer 401/429.
    The rate count and the token's last use are committed at once, before the request acts."""
    g.pop("_login_user", None)  # whatever a session cookie said: the API does not read it
    g.api_user_id = None
    endpoint = (request.endpoint or "").partition(".")[2]
    if endpoint in PUBLIC_ENDPOINTS:
        return
    scheme, _sep, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Problem(ProblemType.UNAUTHORIZED, headers=CHALLENGE)
    token = tokens.find(secret.strip())
    if token is None:
        raise Problem(ProblemType.UNAUTHORIZED, _("API 令牌无效、已过期或已被撤销。"), headers=CHALLENGE)
    g.request_id = f"api-t{token.id}-{g.get('request_id') or ''}"[:64]
    try:
        ratelimit.count(RATE_SCOPE, str(token.id), limit=int(current_app.config.get("API_RATE_LIMIT", 600)),
                        window=timedelta(seconds=int(current_app.config.get("API_RATE_WINDOW_SECONDS", 60))),
                        message=_("该令牌的请求过于频繁，请稍后再试。"))
    except ratelimit.RateLimited as exc:
        db.session.rollback()
        raise Problem(ProblemType.RATE_LIMITED, str(exc.description),
                      headers={"Retry-After": str(exc.retry_after or 1)}) from None
    tokens.touch(token)
    db.session.commit()
    g._login_user = token.user
    g.api_user_id = token.user_id
    g.api_token_id = token.id


PUBLIC_ENDPOINTS = frozenset({"openapi", "docs"})
