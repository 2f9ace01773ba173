"""Imports on PostgreSQL with real concurrent connections: the same history file (and the same people file)
imported twice at the same moment is written once: one import adds everything, the other waits and finds
nothing new. A larger history file imports in bulk (COPY) and every village chain verifies, replay
included."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from audit.models import Event
from finance import create_app
from finance.db import Database
from finance.demo import seed_base
from finance.extensions import db
from finance.imports import history, people
from finance.imports.models import ImportBatch
from finance.imports.services import Outcome
from finance.migrate import upgrade
from finance.payment_requests.models import PaymentRequest
from tests import pg
from tests.conftest import PASSWORD, app_config, require_pg
from tests.test_imports_history import PAYMENT
from tests.test_imports_people import PEOPLE

pytestmark = pytest.mark.slow  # its own PostgreSQL database, real threads, a few thousand rows

VILLAGES = ["HL-YC-01", "HL-YC-02", "HL-MK-01", "HL-MK-02"]


@pytest.fixture(scope="module")
def pg_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    require_pg()
    url = pg.create_database()
    upgrade(url)
    app = create_app(app_config(url, tmp_path_factory.mktemp("imports-pg")))
    with app.app_context():
        seed_base(PASSWORD)
        db.session.commit()
    yield app
    app.extensions[Database.key][0].dispose()
    pg.drop_database(url)


def history_bytes(count: int, prefix: str) -> bytes:
    lines = []
    for n in range(count):
        lines.append({**PAYMENT, "number": f"{prefix}-{n:06d}", "village": VILLAGES[n % 4], "attachments": [],
                      "amount": f"{100 + n}.00", "bank_reference": f"{prefix}REF{n:08d}",
                      "invoices": [{"number": f"{n:020d}", "date": "2025-03-01", "seller": "某店", "amount": "1.00"}]})
    return "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines).encode()


def at_once(app: Flask, runs: list[Callable[[], Outcome]]) -> list[Any]:
    barrier = threading.Barrier(len(runs))
    results: list[Any] = [None] * len(runs)

    def worker(i: int, run: Callable[[], Outcome]) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                outcome = run()
                db.session.commit()
                results[i] = outcome
            except Exception as exc:  # noqa: BLE001 - reported below
                db.session.rollback()
                results[i] = exc

    threads = [threading.Thread(target=worker, args=(i, run)) for i, run in enumerate(runs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def count(model: Any, *where: Any) -> int:
    return int(db.session.execute(select(func.count()).select_from(model).where(*where)).scalar_one())


def test_the_same_history_file_imported_twice_at_once_is_written_once(pg_app):
    data = history_bytes(300, "RACE")
    results = at_once(pg_app, [lambda: history.run(data, "race.jsonl"), lambda: history.run(data, "race.jsonl")])
    assert all(isinstance(r, Outcome) for r in results), results
    assert sorted((r.added, r.unchanged) for r in results) == [(0, 300), (300, 0)]
    with pg_app.app_context():
        assert count(PaymentRequest, PaymentRequest.number.like("RACE-%")) == 300
        assert count(ImportBatch, ImportBatch.filename == "race.jsonl") == 1
        assert count(Event, Event.action == "history_import", Event.subject_type == "payment_request") >= 300


def test_the_same_people_file_imported_twice_at_once_makes_each_person_once(pg_app):
    data = PEOPLE.replace("dy_kuaiji2", "race_kuaiji").replace("yc_chuna2", "race_chuna").encode()
    results = at_once(pg_app, [lambda: people.run(data, "p.csv"), lambda: people.run(data, "p.csv")])
    assert all(isinstance(r, Outcome) for r in results), results
    assert sorted(r.added for r in results) == [0, 2]
    assert sum(len(r.secrets) for r in results) == 2  # one activation each, not two


def test_a_bulk_history_import_verifies_chain_by_chain(pg_app):
    from finance.oversight.verification import run_verify

    with pg_app.app_context():
        outcome = history.run(history_bytes(2000, "BULK"), "bulk.jsonl")
        db.session.commit()
        assert outcome.added == 2000
        for code in VILLAGES:
            report = run_verify(chain=f"village:{code}")
            assert report.ok, report.all_failures()[:3]
        again = history.run(history_bytes(2000, "BULK"), "bulk.jsonl")
        assert again.added == 0 and again.unchanged == 2000
        db.session.rollback()
