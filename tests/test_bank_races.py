"""Two imports of overlapping statements at the same moment give one set of lines (issue 10 Proof): each
thread has its own app context, session and connection, waits at a barrier, imports and commits for
real. Every time: each (account, 流水号) once, every import either adds its new lines or nothing, and no
user sees an error. PostgreSQL (the account row lock) and SQLite (the write lock at BEGIN)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from audit.models import Event
from finance import create_app
from finance.auth.models import User
from finance.bank import services as bank
from finance.bank.models import StatementLine
from finance.db import Database
from finance.demo import seed_base
from finance.extensions import db
from finance.migrate import upgrade
from tests import factories as f
from tests import pg
from tests.bank_helpers import Line, Statement, account
from tests.conftest import PASSWORD, app_config, require_pg

pytestmark = pytest.mark.slow  # real concurrent connections, repeated

REPEAT = {"postgresql": int(os.environ.get("SANZI_RACE_REPEAT", "30")), "sqlite": 8}


@pytest.fixture(scope="module", params=["postgresql", "sqlite"])
def race_app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    backend = str(request.param)
    tmp = tmp_path_factory.mktemp(f"bank-race-{backend}")
    if backend == "postgresql":
        require_pg()
        url = pg.create_database() + "?options=-csynchronous_commit%3Doff"
    else:
        url = f"sqlite:///{tmp / 'race.db'}"
    upgrade(url)
    app = create_app(app_config(url, tmp))
    with app.app_context():
        seed_base(PASSWORD)
        account(opening="100000.00", opening_date=date.today().replace(day=1))
        db.session.commit()
    app.config["RACE_BACKEND"] = backend
    yield app
    app.extensions[Database.key][0].dispose()
    if backend == "postgresql":
        pg.drop_database(app.config["DATABASE_URL"].split("?")[0])


def _statements(prefix: str, number: str) -> tuple[bytes, bytes, int]:
    """Lines 1-6 and lines 4-10 of one account's month (the second starting from line 3's balance)."""
    lines = [Line(date.today(), f"{prefix}{i:03d}", debit=Decimal("10.00") * i, summary="转账支出")
             for i in range(1, 11)]
    opening = Decimal("100000.00")
    before_fourth = opening - sum((x.debit for x in lines[:3]), Decimal(0))
    return (Statement(number, opening, lines[:6]).csv(), Statement(number, before_fourth, lines[3:]).csv(),
            len(lines))


def _race(app: Flask, jobs: list[tuple[str, bytes]]) -> list[tuple[str, Any]]:
    barrier = threading.Barrier(len(jobs))
    results: list[tuple[str, Any]] = [("missing", None)] * len(jobs)

    def worker(i: int, username: str, data: bytes) -> None:
        with app.app_context():
            session = db.session
            try:
                user = session.execute(select(User).where(User.username == username)).scalar_one()
                user.assignments  # noqa: B018 - loaded before the race, as the page that showed the form did
                session.commit()
            except BaseException as exc:
                barrier.abort()
                results[i] = ("error", repr(exc))
                return
            try:
                barrier.wait(timeout=30)
                outcome = bank.import_statement(user, data, f"{username}.csv")
                session.commit()
                results[i] = ("ok", outcome.added)
            except Exception as exc:
                session.rollback()
                results[i] = ("error", f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=worker, args=(i, u, d)) for i, (u, d) in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
        assert not t.is_alive(), "a racing thread hung"
    return results


def test_two_overlapping_imports_at_once_give_one_set_of_lines(race_app):
    with race_app.app_context():
        number = f.unit("HL-YC-01").bank_account.replace(" ", "")
    for n in range(REPEAT[race_app.config["RACE_BACKEND"]]):
        prefix = f"R{n:03d}X"
        first, second, total = _statements(prefix, number)
        with race_app.app_context():
            events_before = db.session.execute(select(func.count(Event.id)).where(
                Event.action == "statement_import")).scalar_one()
            db.session.rollback()
        results = _race(race_app, [("yc_shenhe", first), ("yc_chuna", second)])
        assert all(kind == "ok" for kind, _ in results), results
        assert sum(added for _kind, added in results) == total, results
        with race_app.app_context():
            serials = db.session.execute(select(StatementLine.serial).where(
                StatementLine.serial.like(f"{prefix}%"))).scalars().all()
            assert sorted(serials) == [f"{prefix}{i:03d}" for i in range(1, 11)]
            events = db.session.execute(select(func.count(Event.id)).where(
                Event.action == "statement_import")).scalar_one()
            assert events == events_before + 2  # each import added something, each one event
            db.session.rollback()


def test_the_same_file_imported_twice_at_once_adds_it_once(race_app, tmp_path: Path):
    with race_app.app_context():
        number = f.unit("HL-YC-01").bank_account.replace(" ", "")
    for n in range(max(2, REPEAT[race_app.config["RACE_BACKEND"]] // 3)):
        prefix = f"S{n:03d}Y"
        first, _second, _total = _statements(prefix, number)
        results = _race(race_app, [("yc_shenhe", first), ("yc_chuna", first)])
        assert sorted(results) == [("ok", 0), ("ok", 6)], results
