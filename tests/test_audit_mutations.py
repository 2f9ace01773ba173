"""The mutation harness: every kind of corruption of the trail is found and named at (chain, seq).

In the spirit of transparency logs' corrupted-proof tests. A throwaway database per backend holds a
village chain of a few hundred events (fast `audit.record` calls mixed with real requests made through
the services, so the replay of business rows is exercised too) and signed checkpoints, some also kept
"off the server" in a folder. Each test plays a privileged attacker inside one transaction that is
rolled back afterwards: it switches the append-only triggers off (dropping them on SQLite, DISABLE
TRIGGER ALL as superuser on PostgreSQL), corrupts the data in SQL, runs the verifier, and checks that
the first failure on the chain is at exactly the corrupted seq. An untouched chain passes.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.orm import Session

import audit
from audit.canonical import entry_hash
from audit.checkpoints import key_id, statement_bytes
from audit.verify import stored_payload_bytes
from finance import create_app
from finance.audit_keys import signing_key
from finance.db import Database
from finance.demo import seed_base
from finance.migrations.append_only import drop_append_only
from finance.oversight.verification import run_verify
from finance.workflow import State
from tests import factories as f
from tests import pg
from tests.conftest import PASSWORD, app_config, make_database

CHAIN = "village:HL-YC-01"
NOTES = 320  # fast events on the chain, besides the real requests' own
EV = audit.Event.__table__
AUDIT_TABLES = ["audit_event", "audit_checkpoint"]


@contextmanager
def without_triggers(session: Session) -> Iterator[None]:
    """Switch the append-only triggers off inside the session's current transaction, as a privileged
    attacker would. The caller's rollback brings them back (DDL is transactional on both databases)."""
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        drop_append_only(conn, AUDIT_TABLES)
    else:
        for table in AUDIT_TABLES:
            conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER ALL"))
    yield


@pytest.fixture(scope="module")
def trail(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp(f"trail-{backend}")
    url = make_database(backend, tmp)
    app = create_app(app_config(url, tmp))
    engine, scoped = app.extensions[Database.key]
    with app.app_context():
        seed_base(PASSWORD)
        scoped().commit()
        session = scoped()
        paid = f.in_state(State.PAID, "60000.00")
        for i in range(NOTES):
            audit.record(
                session,
                chain_id=CHAIN,
                action="note",
                subject_type="note",
                subject_id=i,
                actor=audit.Actor(7, "测试员", "liaison", "HL-YC"),
                before={"n": i} if i % 3 else None,
                after={"amount": Decimal("1.50") * i, "day": datetime(2026, 1, 1, tzinfo=UTC)},
                reason="说明" if i % 5 == 0 else None,
                attachments=["ab" * 32] if i % 7 == 0 else (),
                context=audit.Context(f"req-{i}", "10.0.0.1"),
            )
            if i % 100 == 99:
                audit.issue(session, signing_key(), CHAIN)
            if i % 40 == 39:
                session.commit()
        # other payees: with the 60,000 paid above, one payee would cross a cumulative band (finance.controls)
        returned = f.in_state(State.RETURNED, "1500.00", payee_name="华龙区绿源苗木场",
                              payee_account="6228480099990001")
        pending = f.in_state(State.PENDING, "20000.00", payee_name="濮阳市宏达建材有限公司",
                             payee_account="6228480099990002")
        session.commit()
        kept = tmp / "kept"
        kept.mkdir()
        rows = session.execute(select(audit.Checkpoint).where(audit.Checkpoint.chain_id == CHAIN)).scalars()
        (kept / "cps.json").write_text(
            json.dumps([audit.SignedCheckpoint.from_row(r).to_json() for r in rows])
        )
        size = session.execute(
            select(audit.ChainHead.seq).where(audit.ChainHead.chain_id == CHAIN)
        ).scalar_one()
        info = {
            "app": app,
            "size": size,
            "kept": kept,
            "paid": paid.id,
            "returned": returned.id,
            "pending": pending.id,
        }
        scoped.remove()
        yield info
    engine.dispose()
    if backend == "postgresql":
        pg.drop_database(url)


@pytest.fixture
def attack(trail: dict[str, Any]) -> Iterator[Session]:
    """A session in a transaction that is rolled back after the test, triggers off."""
    app = trail["app"]
    engine = app.extensions[Database.key][0]
    with app.app_context(), engine.connect() as conn:
        tx = conn.begin()
        session = Session(bind=conn, join_transaction_mode="create_savepoint")
        try:
            with without_triggers(session):
                yield session
        finally:
            session.close()
            tx.rollback()


def failures(session: Session, trail: dict[str, Any], kept: bool = True) -> list[audit.Failure]:
    report = run_verify(folder=trail["kept"] if kept else None, session=session)
    return report.all_failures()


def first_bad_seq(session: Session, trail: dict[str, Any], kept: bool = True) -> int:
    """The first seq at which the chain itself fails. (Replay failures name the last event that spoke
    about a request, which may come before a corrupted one; the tests of SQL edits check those.)"""
    found = [x for x in failures(session, trail, kept) if x.chain_id == CHAIN and x.kind == "chain"]
    assert found, "the corruption was not detected"
    return min(x.seq for x in found)


def row(session: Session, seq: int) -> Any:
    return session.execute(select(EV).where(EV.c.chain_id == CHAIN, EV.c.seq == seq)).one()


def set_cols(session: Session, at_seq: int, **values: Any) -> None:
    session.execute(update(EV).where(EV.c.chain_id == CHAIN, EV.c.seq == at_seq).values(**values))


def seq_of(session: Session, action: str, request_id: int) -> int:
    return int(
        session.execute(
            select(EV.c.seq)
            .where(EV.c.chain_id == CHAIN, EV.c.action == action, EV.c.subject_id == str(request_id))
            .order_by(EV.c.seq)
            .limit(1)
        ).scalar_one()
    )


def checkpoint_sizes(session: Session) -> list[int]:
    return sorted(
        session.execute(select(audit.Checkpoint.size).where(audit.Checkpoint.chain_id == CHAIN)).scalars()
    )


def kept_sizes(trail: dict[str, Any]) -> list[int]:
    return sorted(item["size"] for item in json.loads((trail["kept"] / "cps.json").read_text()))


def shift_up(session: Session, from_seq: int, size: int) -> None:
    """Renumber events from_seq..size to from_seq+1..size+1 (one row at a time, top down, so the
    unique (chain, seq) index never sees two rows at once)."""
    for seq in range(size, from_seq - 1, -1):
        set_cols(session, seq, seq=seq + 1)


# --- an untouched chain --------------------------------------------------------------------------


def test_untouched_chain_passes(attack, trail):
    report = run_verify(folder=trail["kept"], session=attack)
    assert report.ok, report.all_failures()
    chain = report.chains[CHAIN]
    # The requests' own events: 60,000 paid = create, 3 attachments, the invoice's facts, submit, 5 approvals,
    # pay (its receipt is part of the pay event); 1,500 returned = create, invoice, facts, submit, return;
    # 20,000 pending = create, 2 attachments, facts, submit.
    assert chain.size == trail["size"] == NOTES + 12 + 5 + 5
    assert chain.checkpoints_checked >= 6  # 3 in the database, 3 kept, plus the one after the payment


# --- edit any field of any event --------------------------------------------------------------------


def _edited(column: str, value: Any) -> Any:
    if column == "seq":
        return value + 100_000
    if column == "occurred_at":
        return value + timedelta(microseconds=1)
    if column == "canonical":
        raw = bytearray(value)
        raw[-2] ^= 0x01
        return bytes(raw)
    if column in ("before", "after"):
        data = json.loads(value) if value else {}
        data["forged"] = 1
        return json.dumps(data, sort_keys=True, separators=(",", ":"))
    if column == "attachments":
        return json.dumps(sorted([*json.loads(value), "cd" * 32]))
    if isinstance(value, int):
        return value + 1
    if value is None:
        return 1 if column == "actor_id" else "x"
    assert isinstance(value, str)
    return value[:-1] + ("0" if value[-1] != "0" else "1")


EDITABLE = [c.name for c in EV.c if c.name != "id"]  # the surrogate row id is not part of the record


@pytest.mark.parametrize("column", EDITABLE)
@pytest.mark.parametrize("where", ["first", "request", "note", "last"])
def test_edit_any_field_of_any_event(attack, trail, column, where):
    seq = {
        "first": 1,
        "last": trail["size"],
        "note": 150,
        "request": seq_of(attack, "approve", trail["paid"]),
    }[where]
    old = row(attack, seq)
    set_cols(attack, seq, **{column: _edited(column, getattr(old, column))})
    assert first_bad_seq(attack, trail) == seq


RANDOM_EDITS = 40


@pytest.mark.parametrize("draw", range(RANDOM_EDITS))
def test_edit_a_random_field_of_a_random_event(attack, trail, draw):
    """Beyond the fixed positions above: (column, seq) pairs drawn from the whole chain (fixed seed)."""
    rnd = random.Random(f"sanzi-{draw}")
    column, seq = rnd.choice(EDITABLE), rnd.randint(1, trail["size"])
    old = row(attack, seq)
    set_cols(attack, seq, **{column: _edited(column, getattr(old, column))})
    assert first_bad_seq(attack, trail) == seq, (column, seq)


def test_every_column_is_covered_by_the_edit_test():
    assert set(EDITABLE) | {"id"} == {c.name for c in EV.c}


# --- hashes, deletion, insertion, duplication, order -------------------------------------------------


@pytest.mark.parametrize("column", ["entry_hash", "prev_hash"])
@pytest.mark.parametrize("bit", [0, 3])
def test_flipped_bit_in_a_hash(attack, trail, column, bit):
    seq = 77
    value = getattr(row(attack, seq), column)
    raw = bytearray(bytes.fromhex(value))
    raw[bit * 7] ^= 1 << bit
    set_cols(attack, seq, **{column: raw.hex()})
    assert first_bad_seq(attack, trail) == seq


@pytest.mark.parametrize("seq", [1, 60, "last"])
def test_deleted_event(attack, trail, seq):
    seq = trail["size"] if seq == "last" else seq
    attack.execute(delete(EV).where(EV.c.chain_id == CHAIN, EV.c.seq == seq))
    assert first_bad_seq(attack, trail) == seq


def test_deleted_event_with_renumbering(attack, trail):
    seq = 90
    attack.execute(delete(EV).where(EV.c.chain_id == CHAIN, EV.c.seq == seq))
    for s in range(seq + 1, trail["size"] + 1):
        set_cols(attack, s, seq=s - 1)
    attack.execute(update(audit.ChainHead).values(seq=trail["size"] - 1))
    assert first_bad_seq(attack, trail) == seq


@pytest.mark.parametrize("seq", [2, 120])
def test_inserted_event_well_forged(attack, trail, seq):
    """A new event with a correct hash of its own and linking to the one before: the event after it
    no longer links, and the verifier names the inserted one."""
    prev = row(attack, seq - 1)
    shift_up(attack, seq, trail["size"])
    forged = dict(row(attack, seq + 1)._mapping)
    forged.pop("id")
    forged.update(
        seq=seq, event_id="00000000-0000-4000-8000-000000000000", reason="伪造", prev_hash=prev.entry_hash
    )
    forged["canonical"] = stored_payload_bytes(_Row(forged))
    forged["entry_hash"] = entry_hash(CHAIN, seq, prev.entry_hash, forged["canonical"])
    attack.execute(insert(EV).values(**forged))
    assert first_bad_seq(attack, trail) == seq
    assert any("inserted" in x.reason for x in failures(attack, trail) if x.seq == seq)


def test_duplicated_event(attack, trail):
    seq = 140
    copy = dict(row(attack, seq)._mapping)
    copy.pop("id")
    shift_up(attack, seq + 1, trail["size"])
    copy.update(seq=seq + 1, event_id="11111111-1111-4111-8111-111111111111")  # unique ids force a new one
    attack.execute(insert(EV).values(**copy))
    assert first_bad_seq(attack, trail) == seq + 1


def test_duplicated_seq_when_constraints_dropped(attack, trail):
    """An attacker who also drops the unique constraints can store two events at one seq."""
    if attack.connection().dialect.name == "postgresql":
        attack.execute(text("ALTER TABLE audit_event DROP CONSTRAINT uq_audit_event_chain_seq"))
        attack.execute(text("ALTER TABLE audit_event DROP CONSTRAINT audit_event_event_id_key"))
    else:  # SQLite cannot drop a constraint: rebuild the table without any
        attack.execute(text("CREATE TABLE audit_event_loose AS SELECT * FROM audit_event"))
        attack.execute(text("DROP TABLE audit_event"))
        attack.execute(text("ALTER TABLE audit_event_loose RENAME TO audit_event"))
    copy = dict(row(attack, 33)._mapping)
    copy["id"] = 10_000_000
    attack.execute(insert(EV).values(**copy))
    found = [x for x in failures(attack, trail) if x.chain_id == CHAIN]
    assert [(x.seq, x.reason) for x in found] == [(33, "duplicate seq")]


def test_reordered_events(attack, trail):
    seq = 101
    set_cols(attack, seq, seq=-1)
    set_cols(attack, seq + 1, seq=seq)
    set_cols(attack, -1, seq=seq + 1)
    assert first_bad_seq(attack, trail) == seq


# --- truncation, consistent rewrites, forged checkpoints -----------------------------------------------


def test_truncated_below_a_checkpoint(attack, trail):
    """Events after seq 150 removed and the head row rewound to match: only the checkpoints tell."""
    sizes = checkpoint_sizes(attack)
    keep = 150
    assert max(sizes) > keep
    last = row(attack, keep)
    attack.execute(delete(EV).where(EV.c.chain_id == CHAIN, EV.c.seq > keep))
    attack.execute(
        update(audit.ChainHead)
        .where(audit.ChainHead.chain_id == CHAIN)
        .values(seq=keep, head_hash=last.entry_hash)
    )
    found = [x for x in failures(attack, trail) if x.chain_id == CHAIN and x.kind == "chain"]
    assert [x.seq for x in found] == [keep + 1] and "events removed" in found[0].reason


def _rewrite_from(session: Session, seq: int, size: int, change: dict[str, Any]) -> None:
    """Change event `seq` and recompute every hash after it, and the head: a consistent chain."""
    prev = row(session, seq - 1).entry_hash
    for s in range(seq, size + 1):
        values = dict(row(session, s)._mapping)
        if s == seq:
            values.update(change)
        values["prev_hash"] = prev
        values["canonical"] = stored_payload_bytes(_Row(values))
        values["entry_hash"] = prev = entry_hash(CHAIN, s, prev, values["canonical"])
        set_cols(session, s, **{k: v for k, v in values.items() if k != "id"})
    session.execute(update(audit.ChainHead).where(audit.ChainHead.chain_id == CHAIN).values(head_hash=prev))


@pytest.mark.parametrize("checkpoints_left_in_db", [True, False])
def test_whole_chain_rewritten_consistently(attack, trail, checkpoints_left_in_db):
    seq = 150  # a note event, so only the hashes and checkpoints can tell
    _rewrite_from(attack, seq, trail["size"], {"after": '{"amount":"999999.00"}'})
    if not checkpoints_left_in_db:  # the attacker also removes the checkpoints the server holds
        attack.execute(delete(audit.Checkpoint))
    sizes = checkpoint_sizes(attack) if checkpoints_left_in_db else kept_sizes(trail)
    expected = min(s for s in sizes if s >= seq)
    good = max(s for s in sizes if s < seq)
    found = [x for x in failures(attack, trail) if x.chain_id == CHAIN]
    assert found and min(x.seq for x in found) == expected
    assert f"between seq {good + 1} and {expected}" in found[0].reason
    if not checkpoints_left_in_db:  # without the kept files nothing is left to tell
        assert [x for x in failures(attack, trail, kept=False) if x.chain_id == CHAIN] == []


def test_checkpoint_forged_with_another_key(attack, trail):
    size = 250
    target = row(attack, size)
    other = Ed25519PrivateKey.generate()
    at = datetime.now(UTC)
    for kid, key in [
        (key_id(other.public_key()), other),
        (key_id(signing_key().public_key()), other),
    ]:  # claims the real key id
        sig = key.sign(statement_bytes(CHAIN, size, target.entry_hash, at, kid))
        attack.add(
            audit.Checkpoint(
                chain_id=CHAIN,
                size=size,
                head_hash=target.entry_hash,
                issued_at=at,
                key_id=kid,
                signature=sig.hex(),
            )
        )
    attack.flush()
    found = [x for x in failures(attack, trail) if x.chain_id == CHAIN]
    assert [x.seq for x in found] == [size, size]
    assert all("signature" in x.reason for x in found)


def test_checkpoint_head_edited_in_database(attack, trail):
    size = checkpoint_sizes(attack)[0]
    attack.execute(update(audit.Checkpoint).where(audit.Checkpoint.size == size).values(head_hash="0" * 64))
    assert first_bad_seq(attack, trail) == size


# --- business rows edited directly in SQL -----------------------------------------------------------------


@pytest.mark.parametrize(
    "which, sql, reason",
    [
        ("paid", "UPDATE payment_request SET amount = amount + 1 WHERE id = :id", "amount"),
        ("pending", "UPDATE payment_request SET state = 'approved', step = 0 WHERE id = :id", "state"),
        (
            "returned",
            "UPDATE payment_request SET payee_account = '6222000000000000' WHERE id = :id",
            "payee_account",
        ),
        ("paid", "UPDATE payment SET amount = amount + 100 WHERE request_id = :id", "payment amount"),
        (
            "paid",
            "UPDATE payment SET payee_account = '6222000000000000' WHERE request_id = :id",
            "payee_account",
        ),
    ],
)
def test_request_edited_in_sql(attack, trail, which, sql, reason):
    request_id = trail[which]
    last = int(
        attack.execute(
            select(EV.c.seq)
            .where(
                EV.c.chain_id == CHAIN,
                EV.c.subject_type == "payment_request",
                EV.c.subject_id == str(request_id),
            )
            .order_by(EV.c.seq.desc())
            .limit(1)
        ).scalar_one()
    )
    attack.execute(text(sql), {"id": request_id})
    found = [x for x in failures(attack, trail) if x.chain_id == CHAIN]
    assert {x.seq for x in found} == {last} and {x.kind for x in found} == {"replay"}
    assert any(reason in x.reason for x in found)


def test_request_deleted_in_sql(attack, trail):
    from finance.db import Base

    metadata = Base.metadata

    request_id = trail["returned"]
    # Every row that hangs off the request (its actions and attachments, and what later features keep about
    # them: invoice facts, fingerprints, flags' links...), children first, as a careful attacker would.
    attachments = [r[0] for r in attack.execute(text("SELECT id FROM attachment WHERE request_id = :id"),
                                                {"id": request_id})]
    for table in reversed(metadata.sorted_tables):
        for fk in table.foreign_keys:
            target = fk.column.table.name
            if target == "attachment" and attachments:
                attack.execute(table.delete().where(fk.parent.in_(attachments)))
            elif target == "payment_request" and table.name != "payment_request":
                attack.execute(table.delete().where(fk.parent == request_id))
    attack.execute(text("DELETE FROM payment_request WHERE id = :id"), {"id": request_id})
    found = [x for x in failures(attack, trail) if x.chain_id == CHAIN]
    assert len(found) == 1 and "not in the database" in found[0].reason


class _Row:
    """Attribute access over a dict of column values, as the verifier reads a Core row."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


def test_kept_folder_path_is_a_folder(trail):
    assert isinstance(trail["kept"], Path) and any(trail["kept"].glob("*.json"))
