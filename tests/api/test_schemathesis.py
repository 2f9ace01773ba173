"""Property-based tests of the API against the OpenAPI document it serves (Schemathesis): for every
operation, generated requests (valid and not) never meet a 500, and every answer conforms to the document
(status documented, media type, headers, body schema). On SQLite in the fast lane, on PostgreSQL in the
slow one (the `exhaustive` marker).

The schema is loaded from the document of an app made at import (Schemathesis' lazy fixture loader does
not run on this pytest); the test checks that the served document is that very document."""

from __future__ import annotations

import tempfile
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.api.conftest import make_token

EXAMPLES = 12


def _document() -> dict[str, Any]:
    from finance import create_app
    from finance.api import spec
    from finance.api.framework import api

    with tempfile.TemporaryDirectory() as tmp:
        create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp}/unused.db", "SECRET_KEY": "x",
                    "INSTANCE_PATH": tmp})
    return spec.build(api)


DOCUMENT = _document()
schema = schemathesis.openapi.from_dict(DOCUMENT)


def test_the_tested_document_is_the_served_one(client: Any) -> None:
    assert client.get("/api/v1/openapi.json").get_json() == DOCUMENT


@pytest.mark.exhaustive
@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_the_api_conforms_to_its_document_and_never_fails(case: Any, app: Any, db: Any) -> None:
    token = _token()
    case.operation.schema.app = app  # this backend's app (the document is the same for both)
    # Every check but "valid data is accepted": the document cannot say the services' rules (a village
    # outside the user's scope, a deadline in the past, an amount over the limit are refused with 422).
    case.call_and_validate(app=app, headers={"Authorization": f"Bearer {token}"},
                           excluded_checks=[positive_data_acceptance])


_tokens: dict[int, str] = {}


def _token() -> str:
    from finance.extensions import db

    key = id(db.session)
    if key not in _tokens:
        _tokens.clear()
        _tokens[key] = make_token("dy_baozhang")
    return _tokens[key]


ROLES = ("yc_lianqing", "yc_chuna", "dy_shuji", "hl_admin")
_role_tokens: dict[tuple[int, str], str] = {}


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_the_api_conforms_for_every_role(case: Any, app: Any, db: Any) -> None:
    """The same, with a token of each other kind of user (a liaison, a cashier, an approver, the admin)."""
    from finance.extensions import db as ext_db

    case.operation.schema.app = app
    for who in ROLES:
        key = (id(ext_db.session), who)
        if key not in _role_tokens:
            _role_tokens[key] = make_token(who)
        case.call_and_validate(app=app, headers={"Authorization": f"Bearer {_role_tokens[key]}"},
                               excluded_checks=[positive_data_acceptance])
