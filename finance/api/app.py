"""Wiring /api/v1 into the app: the endpoint modules of every feature (each package's `api.py`; add yours
to ENDPOINTS below, see docs/api.md), the token check, CSRF exemption (a token is not a cookie: no
cross-site request can carry it), problem details for every error, and the tokens page."""

from __future__ import annotations

from flask import Flask

from finance.api import auth, docs
from finance.api.framework import ID_CONVERTER, AnyDigits, api, problem_handler
from finance.api.problems import Problem


def init_app(app: Flask) -> None:
    from finance.api import (
        endpoints_bank,
        endpoints_books,
        endpoints_oversight,
        endpoints_payments,
        endpoints_requests,
    )
    from finance.api.cli import api_cli
    from finance.api.views import bp as tokens_bp
    from finance.controls import api as controls_api
    from finance.delegations import api as delegations_api
    from finance.extensions import csrf
    from finance.flags import api as flags_api
    from finance.imports import api as imports_api
    from finance.notices import api as notices_api
    from finance.orgs import api as orgs_api

    # The endpoint modules, imported for their `@api.operation`s (a feature adds its own here).
    ENDPOINTS = (endpoints_requests, endpoints_payments, endpoints_oversight, endpoints_bank,  # noqa: N806
                 endpoints_books, imports_api, flags_api, delegations_api, notices_api, orgs_api, controls_api)
    assert ENDPOINTS
    bp = api.bp
    if not getattr(bp, "_sanzi_wired", False):  # a blueprint is wired once, however many apps register it
        bp.add_url_rule("/openapi.json", endpoint="openapi", view_func=docs.openapi_json)
        bp.add_url_rule("/docs", endpoint="docs", view_func=docs.docs_page)
        bp.before_request(auth.authenticate)
        bp.register_error_handler(Problem, problem_handler)
        bp._sanzi_wired = True  # type: ignore[attr-defined]
    csrf.exempt(bp)
    app.url_map.converters[ID_CONVERTER] = AnyDigits
    app.register_blueprint(bp)
    app.register_blueprint(tokens_bp)
    app.register_error_handler(Problem, problem_handler)
    app.cli.add_command(api_cli)
