"""Database enforcement of the trail: the append-only triggers on both databases, the least-privilege
app role on PostgreSQL, and concurrent appends to one chain (PostgreSQL, real commits)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

import audit
from finance import create_app
from finance.db import Database, make_engine
from finance.demo import seed_base
from finance.oversight.verification import run_verify
from finance.workflow import State
from tests import factories as f
from tests import pg
from tests.conftest import PASSWORD, app_config, make_database, require_pg

CHAIN = "village:HL-YC-01"


def _some_events(session: Session, n: int = 3, chain: str = CHAIN) -> None:
    for i in range(n):
        audit.record(session, chain_id=chain, action="note", subject_type="note", subject_id=i, actor=None)
    session.flush()


# --- the triggers, on SQLite and PostgreSQL ---------------------------------------------------------


@pytest.mark.parametrize("table", ["audit_event", "audit_checkpoint", "routing_policy"])
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE {t} SET id = id",
        "UPDATE {t} SET id = id WHERE id = (SELECT min(id) FROM {t})",
        "DELETE FROM {t} WHERE id = (SELECT max(id) FROM {t})",
        "DELETE FROM {t}",
        "TRUNCATE {t}",
    ],
)
def test_database_refuses_changes_to_the_trail(db, table, statement):
    _some_events(db)
    from finance.audit_keys import signing_key

    audit.issue(db, signing_key(), CHAIN)
    db.flush()
    if statement.startswith("TRUNCATE") and db.bind.dialect.name == "sqlite":
        statement = "DELETE FROM {t}"  # SQLite has no TRUNCATE; this is its equivalent
    elif statement.startswith("TRUNCATE") and table == "routing_policy":
        statement += " CASCADE"  # requests refer to policies: without CASCADE the foreign key refuses first
    before = db.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
    assert before > 0
    with pytest.raises(DBAPIError) as err, db.begin_nested():
        db.execute(text(statement.format(t=table)))
    assert "append-only" in str(err.value)
    assert db.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == before


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_event SET reason = 'x'", "DELETE FROM audit_event", "TRUNCATE audit_event"]
)
def test_triggers_fire_under_replication_role_replica(db, statement):
    if db.bind.dialect.name != "postgresql":
        assert db.bind.dialect.name == "sqlite"  # SQLite has no replication role; covered above
        return
    _some_events(db)
    with pytest.raises(DBAPIError) as err, db.begin_nested():
        db.execute(text("SET LOCAL session_replication_role = replica"))
        db.execute(text(statement))
    assert "append-only" in str(err.value)


# --- PostgreSQL: the app's role has only INSERT and SELECT on the trail -------------------------------


APP_GRANTS = """
GRANT CONNECT ON DATABASE {db} TO {role};
GRANT USAGE ON SCHEMA public TO {role};
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role};
REVOKE UPDATE, DELETE, TRUNCATE ON audit_event, audit_checkpoint, routing_policy FROM {role};
REVOKE UPDATE, DELETE ON alembic_version FROM {role};
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role};
"""  # the same statements as docs/postgres.md


@pytest.fixture
def app_role_db(tmp_path: Path) -> Iterator[dict[str, Any]]:
    admin = require_pg()
    url = make_database("postgresql", tmp_path)  # migrated by the owner (the admin user)
    name = url.rsplit("/", 1)[1]
    role = f"sanzi_app_{uuid.uuid4().hex[:10]}"
    password = uuid.uuid4().hex
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role), sql.Literal(password))
        )
    try:
        with psycopg.connect(admin.rsplit("/", 1)[0] + "/" + name, autocommit=True) as conn:
            for statement in APP_GRANTS.strip().splitlines():
                conn.execute(sql.SQL(statement).format(db=sql.Identifier(name), role=sql.Identifier(role)))
        role_url = url.replace(
            "postgresql+psycopg://postgres@", f"postgresql+psycopg://{role}:{password}@", 1
        )
        assert role_url != url
        yield {"url": role_url, "owner_url": url, "role": role}
    finally:
        pg.drop_database(url)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def test_app_role_cannot_update_delete_or_truncate_the_trail_but_the_app_works(app_role_db, tmp_path):
    app = create_app(app_config(app_role_db["url"], tmp_path))
    engine, scoped = app.extensions[Database.key]
    try:
        with app.app_context():
            user = scoped().execute(text("SELECT current_user")).scalar_one()
            assert user == app_role_db["role"]
            seed_base(PASSWORD)  # users, roles, policies: events on the system chain, as the app role
            scoped().commit()
            req = f.in_state(State.PAID, "60000.00")  # a whole request, a payment and its checkpoint
            assert req.state == State.PAID
            for statement in (
                "UPDATE audit_event SET reason = 'x'",
                "DELETE FROM audit_event",
                "TRUNCATE audit_event",
                "UPDATE audit_checkpoint SET size = 0",
                "DELETE FROM audit_checkpoint",
                "TRUNCATE audit_checkpoint",
                "UPDATE routing_policy SET rules = rules",
                "DELETE FROM routing_policy",
                "ALTER TABLE audit_event DISABLE TRIGGER ALL",
                "DROP TRIGGER audit_event_no_change ON audit_event",
            ):
                with pytest.raises(DBAPIError) as err:
                    scoped().execute(text(statement))
                scoped().rollback()
                message = str(err.value)
                assert "permission denied" in message or "must be owner" in message, message
            report = run_verify()
            assert report.ok, report.all_failures()
            assert report.chains[CHAIN].size > 10 and report.chains["system"].size > 20
    finally:
        engine.dispose()


# --- PostgreSQL: concurrent appends, real commits ------------------------------------------------------


@pytest.fixture
def pg_app(tmp_path: Path) -> Iterator[Any]:
    require_pg()
    url = make_database("postgresql", tmp_path)
    app = create_app(app_config(url, tmp_path))
    original_engine, _scoped = app.extensions[Database.key]
    original_engine.dispose()
    engine = make_engine(url, pool_size=40, max_overflow=0)  # every thread gets its own connection
    from sqlalchemy.orm import scoped_session

    app.extensions[Database.key] = (engine, scoped_session(sessionmaker(bind=engine, expire_on_commit=False)))
    with app.app_context():
        seed_base(PASSWORD)
        app.extensions[Database.key][1]().commit()
        app.extensions[Database.key][1].remove()
    try:
        yield app
    finally:
        engine.dispose()
        pg.drop_database(url)


THREADS = 32
PER_THREAD = 8


@pytest.mark.slow  # a PostgreSQL race between real connections
def test_32_threads_append_to_one_chain_without_gap_or_fork(pg_app):
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            with pg_app.app_context():
                scoped = pg_app.extensions[Database.key][1]
                session = scoped()
                session.execute(text("SELECT 1"))  # hold a connection before the race starts
                barrier.wait(timeout=60)
                for i in range(PER_THREAD):
                    audit.record(
                        session,
                        chain_id=CHAIN,
                        action="note",
                        subject_type="note",
                        subject_id=f"{n}-{i}",
                        actor=None,
                        after={"thread": n, "i": i},
                    )
                    session.commit()  # a real commit per event
                scoped.remove()
        except BaseException as exc:  # reported below; a thread's exception is otherwise lost
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    assert not errors, errors
    with pg_app.app_context():
        session = pg_app.extensions[Database.key][1]()
        seqs = (
            session.execute(
                select(audit.Event.seq).where(audit.Event.chain_id == CHAIN).order_by(audit.Event.seq)
            )
            .scalars()
            .all()
        )
        assert seqs == list(range(1, THREADS * PER_THREAD + 1))
        subjects = session.execute(
            select(func.count(func.distinct(audit.Event.subject_id))).where(audit.Event.chain_id == CHAIN)
        ).scalar_one()
        assert subjects == THREADS * PER_THREAD  # every append landed once
        report = run_verify(chain=CHAIN, session=session)
        assert report.ok, report.all_failures()


@pytest.mark.slow  # a PostgreSQL race between real connections
def test_villages_do_not_wait_for_each_other(pg_app):
    """One writer holds village 1's chain (its transaction open); village 2 appends at once, while a
    second writer on village 1 waits for the lock."""
    engine = pg_app.extensions[Database.key][0]
    holder = Session(bind=engine)
    other = Session(bind=engine)
    same = Session(bind=engine)
    try:
        with pg_app.app_context():
            audit.record(
                holder, chain_id=CHAIN, action="note", subject_type="note", subject_id="held", actor=None
            )
            holder.flush()  # the head row of village 1 is now locked until `holder` ends
            other.execute(text("SET lock_timeout = '2s'"))
            audit.record(
                other,
                chain_id="village:HL-YC-02",
                action="note",
                subject_type="note",
                subject_id=1,
                actor=None,
            )
            other.commit()
            same.execute(text("SET lock_timeout = '300ms'"))
            with pytest.raises(OperationalError) as err:
                audit.record(
                    same, chain_id=CHAIN, action="note", subject_type="note", subject_id=2, actor=None
                )
            assert "lock timeout" in str(err.value)
            same.rollback()
            holder.commit()
            audit.record(same, chain_id=CHAIN, action="note", subject_type="note", subject_id=2, actor=None)
            same.commit()
            seqs = (
                same.execute(
                    select(audit.Event.seq).where(audit.Event.chain_id == CHAIN).order_by(audit.Event.seq)
                )
                .scalars()
                .all()
            )
            assert seqs[-2:] == [seqs[-2], seqs[-2] + 1]
    finally:
        for s in (holder, other, same):
            s.close()
