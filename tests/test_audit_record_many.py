"""audit.record_many writes the same events `record` would, one by one: same payload bytes, same hashes,
seq gapless after the chain's head; and the chain verifies."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

import audit
from audit.canonical import CanonicalError, canonical_bytes
from audit.log import event_payload
from finance.audit_keys import trusted_keys


def test_record_many_writes_what_record_would(db):
    chain = "village:MANY-01"
    audit.record(db, chain_id=chain, action="create", subject_type="payment_request", subject_id=1,
                 actor=audit.Actor(7, "李秀英", "accountant", "MANY-01"), after={"amount": Decimal("1.00")})
    entries = [
        audit.Entry(action="history_import", subject_type="payment_request", subject_id=n,
                    actor=audit.Actor(None, None, None, None),
                    before={"state": "draft"} if n % 2 else None,
                    after={"amount": Decimal("9800.00"), "at": datetime(2025, 3, 2, 1, 10, tzinfo=UTC),
                           "names": ["王建国", "张桂兰"], "nested": {"b": 1, "a": None}},
                    reason="导入" if n == 3 else None, attachments=("b" * 64, "a" * 64) if n == 2 else ())
        for n in range(1, 6)
    ]
    rows = audit.record_many(db, chain_id=chain, entries=entries, context=audit.Context("req-1", "cli"))
    assert [r["seq"] for r in rows] == [2, 3, 4, 5, 6]
    stored = list(db.execute(select(audit.Event).where(audit.Event.chain_id == chain).order_by(audit.Event.seq))
                  .scalars())
    assert len(stored) == 6
    for event in stored:
        assert bytes(event.canonical) == canonical_bytes(event_payload(event))
    report = audit.verify(db, trusted_keys=trusted_keys(), chain=chain)
    assert report.ok, report.all_failures()
    head = db.get(audit.ChainHead, chain)
    assert (head.seq, head.head_hash) == (6, stored[-1].entry_hash)


def test_record_many_refuses_what_has_no_canonical_form(db):
    with pytest.raises(CanonicalError):
        audit.record_many(db, chain_id="village:MANY-02", entries=[
            audit.Entry(action="x", subject_type="y", subject_id=1, after={"amount": 1.5})])


def test_record_many_chains_writes_what_record_many_would_chain_by_chain(db):
    """Several chains at once (one lock statement, one COPY): an existing chain goes on after its head, new
    chains start at 1, each event's bytes are its payload's, and every chain verifies."""
    audit.record(db, chain_id="village:MULTI-B", action="create", subject_type="payment_request", subject_id=1,
                 actor=None, after={"amount": Decimal("2.00")})

    def entries(n: int) -> list[audit.Entry]:
        return [audit.Entry(action="history_import", subject_type="payment_request", subject_id=i,
                            actor=audit.Actor(3, "王建国", "admin", "BJ"),
                            after={"amount": Decimal("12.50"), "names": ["甲", "乙"],
                                   "at": datetime(2025, 1, 1, tzinfo=UTC)},
                            before={"state": "draft"} if i == 2 else None, reason="导入" if i == 1 else None,
                            attachments=("c" * 64, "a" * 64) if i == 3 else ())
                for i in range(1, n + 1)]

    written = audit.record_many_chains(db, {"village:MULTI-C": entries(3), "village:MULTI-B": entries(4),
                                            "village:MULTI-A": []}, context=audit.Context("req-2", "cli"))
    assert list(written) == ["village:MULTI-C", "village:MULTI-B", "village:MULTI-A"]
    assert [r["seq"] for r in written["village:MULTI-B"]] == [2, 3, 4, 5]
    assert [r["seq"] for r in written["village:MULTI-C"]] == [1, 2, 3]
    assert written["village:MULTI-A"] == []
    for chain, count in (("village:MULTI-B", 5), ("village:MULTI-C", 3)):
        stored = list(db.execute(select(audit.Event).where(audit.Event.chain_id == chain)
                                 .order_by(audit.Event.seq)).scalars())
        assert len(stored) == count
        for event in stored:
            assert bytes(event.canonical) == canonical_bytes(event_payload(event))
        assert db.get(audit.ChainHead, chain).head_hash == stored[-1].entry_hash
        report = audit.verify(db, trusted_keys=trusted_keys(), chain=chain)
        assert report.ok, report.all_failures()
