"""Delegation under concurrency, with real concurrent connections (the harness of
tests/test_concurrency_pg.py), on PostgreSQL and SQLite: the principal and their delegate decide one step
at the same moment (one decision, one event); two overlapping delegations named at once (one is kept);
the principal and the admin end one at once (one end, one event)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from audit.models import Event
from finance.auth.models import User
from finance.db import Database
from finance.delegations import services as delegations
from finance.delegations.models import Delegation
from finance.extensions import db
from finance.payment_requests import services as requests
from finance.payment_requests.models import PaymentRequest
from finance.roles import Role
from finance.timefmt import today_local
from finance.workflow import State
from tests import factories as f
from tests import pg
from tests.test_concurrency_pg import _make_app, counts, prepare, race, repeat_of

pytestmark = pytest.mark.slow  # real concurrent connections, each race repeated


@pytest.fixture(scope="module", params=["postgresql", "sqlite"])
def race_app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    backend = str(request.param)
    app = _make_app(backend, Path(tmp_path_factory.mktemp(f"delegation-race-{backend}")))
    app.config["RACE_BACKEND"] = backend
    yield app
    app.extensions[Database.key][0].dispose()
    if backend == "postgresql":
        pg.drop_database(app.config["DATABASE_URL"].split("?")[0])


def _input(to: str, days: int = 5) -> delegations.DelegationInput:
    today = today_local()
    return delegations.DelegationInput(role=Role.VILLAGE_LEAD.value, delegate_id=f.user(to).id,
                                       village_ids=[f.unit("HL-YC-01").id], starts_on=today,
                                       ends_on=today + timedelta(days=days))


def _clear() -> None:
    for d in db.session.execute(select(Delegation).where(Delegation.ended_at.is_(None))).scalars():
        delegations.end(f.user("hl_admin"), d)
    db.session.commit()


@pytest.mark.postgres
def test_the_principal_and_the_delegate_approve_one_step_at_once(race_app: Flask) -> None:
    with race_app.app_context():
        _clear()
        delegations.create(f.user("dy_shuji"), _input("xy_shuji"))
        db.session.commit()
        for req_id in prepare(State.PENDING, repeat_of(race_app)):
            before = counts(req_id)

            def approve(user: User, req: PaymentRequest) -> Any:
                return requests.approve(user, req, "同意", client_key=uuid.uuid4().hex)

            results = race(race_app, req_id, [("dy_shuji", approve), ("xy_shuji", approve)])
            assert sorted(r[0] for r in results) == ["handled", "ok"], results
            after = counts(req_id)
            assert after["actions"] == before["actions"] + 1 and after["events"] == before["events"] + 1
            assert after["state"] == (State.PENDING, 2)
        _clear()


@pytest.mark.postgres
def test_two_overlapping_delegations_named_at_once_keep_one(race_app: Flask) -> None:
    with race_app.app_context():
        anchor = prepare(State.PENDING, 1)[0]
        for _ in range(repeat_of(race_app) // 5 or 1):
            _clear()

            def name(to: str) -> Any:
                def act(user: User, _req: PaymentRequest) -> Any:
                    try:
                        delegations.create(user, _input(to))
                    except delegations.DelegationError:
                        raise requests.AlreadyHandled from None
                    return None
                return act

            results = race(race_app, anchor, [("dy_shuji", name("xy_shuji")), ("dy_shuji", name("dy_jianwei"))])
            assert sorted(r[0] for r in results) == ["handled", "ok"], results
            live = db.session.execute(select(func.count(Delegation.id)).where(Delegation.ended_at.is_(None))
                                      ).scalar_one()
            db.session.rollback()
            assert live == 1
        _clear()


@pytest.mark.postgres
def test_the_principal_and_the_admin_end_one_delegation_at_once(race_app: Flask) -> None:
    with race_app.app_context():
        anchor = prepare(State.PENDING, 1)[0]
        for _ in range(repeat_of(race_app) // 5 or 1):
            _clear()
            d = delegations.create(f.user("dy_shuji"), _input("xy_shuji"))
            db.session.commit()
            did = d.id

            def end(user: User, _req: PaymentRequest) -> Any:
                delegations.end(user, db.session.get(Delegation, did))
                return None

            results = race(race_app, anchor, [("dy_shuji", end), ("hl_admin", end)])
            assert [r[0] for r in results] == ["ok", "ok"], results
            ends = db.session.execute(select(func.count(Event.id)).where(
                Event.subject_type == "delegation", Event.subject_id == str(did), Event.action == "delegation_end")
            ).scalar_one()
            db.session.rollback()
            assert ends == 1
