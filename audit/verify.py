"""The offline verifier: links, hashes, stored bytes, time order, checkpoints and (through a replayer
supplied by the application) the business rows that the events describe."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from audit.canonical import GENESIS_HASH, CanonicalError, entry_hash, timestamp
from audit.checkpoints import SignedCheckpoint
from audit.models import ChainHead, Checkpoint, Event


@dataclass(frozen=True, order=True)
class Failure:
    chain_id: str
    seq: int
    reason: str
    kind: str = "chain"  # "chain": links, hashes, checkpoints; "replay": business rows against events

    def __str__(self) -> str:
        return f"{self.chain_id} #{self.seq}: {self.reason}"


@dataclass
class ChainReport:
    chain_id: str
    size: int = 0
    head_hash: str = GENESIS_HASH
    checkpoints_checked: int = 0
    failures: list[Failure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass
class Report:
    chains: dict[str, ChainReport] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures and all(c.ok for c in self.chains.values())

    def all_failures(self) -> list[Failure]:
        out = list(self.failures)
        for chain in self.chains.values():
            out.extend(chain.failures)
        return sorted(out)


class Replayer(Protocol):
    """Folds a chain's events into the business state they describe and compares it with the rows."""

    def feed(self, event: Any) -> None:
        """One event (a Core row with the columns of `audit_event`), in seq order."""

    def finish(self, session: Session) -> list[Failure]:
        """Compare what the events said with the rows; failures name the event that last spoke."""


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def chain_ids(session: Session) -> list[str]:
    ids = set(session.execute(select(Event.chain_id).distinct()).scalars())
    ids |= set(session.execute(select(Checkpoint.chain_id).distinct()).scalars())
    ids |= set(session.execute(select(ChainHead.chain_id)).scalars())
    return sorted(ids)


def _no_float(text: str) -> None:
    raise CanonicalError(f"float {text} in stored JSON")


def _load(text: str | None) -> Any:
    return None if text is None else json.loads(text, parse_float=_no_float, parse_constant=_no_float)


def stored_payload_bytes(row: Any) -> bytes:
    """The canonical bytes the stored columns of an event describe (`row` is a Core row or an Event).

    Same result as `canonical_bytes(event_payload(row))` but built straight from plain JSON values, so
    the verifier does not walk every value in Python; `tests/test_audit_canonical.py` checks they agree.
    """
    payload = {
        "schema": row.schema_version,
        "chain": row.chain_id,
        "seq": row.seq,
        "event_id": row.event_id,
        "at": timestamp(_aware(row.occurred_at)),
        "actor": {"id": row.actor_id, "name": row.actor_name, "role": row.actor_role, "org": row.actor_org},
        "action": row.action,
        "subject": {"type": row.subject_type, "id": row.subject_id},
        "before": _load(row.before),
        "after": _load(row.after),
        "reason": row.reason,
        "attachments": _load(row.attachments),
        "request": {"id": row.http_request_id, "client": row.client_addr},
    }
    return json.dumps(
        payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def verify_chain(
    session: Session,
    chain_id: str,
    *,
    trusted_keys: dict[str, Ed25519PublicKey],
    checkpoints: Iterable[SignedCheckpoint] = (),
    replayer: Replayer | None = None,
    batch: int = 5000,
) -> ChainReport:
    """Check one chain end to end and return its report; never raises on bad data.

    Reads the events in seq order with Core (no ORM objects), `batch` rows at a time, and checks: seq
    runs from 1 without gaps or repeats, each prev_hash links to the previous entry_hash, each
    entry_hash recomputes, the stored columns give the stored canonical bytes, time never runs
    backwards, each checkpoint is signed by a trusted key and matches the chain at its size, the chain
    is not shorter than any checkpoint, and the head row agrees. Each failure names (chain, seq).
    """
    report = ChainReport(chain_id)
    fail = report.failures.append
    cps = [
        SignedCheckpoint.from_row(r)
        for r in session.execute(select(Checkpoint).where(Checkpoint.chain_id == chain_id)).scalars()
    ]
    cps += [c for c in checkpoints if c.chain_id == chain_id]
    by_size: dict[int, list[SignedCheckpoint]] = {}
    for cp in cps:
        if not cp.verify(trusted_keys):
            fail(Failure(chain_id, cp.size, f"checkpoint signature invalid or key {cp.key_id} not trusted"))
            continue
        by_size.setdefault(cp.size, []).append(cp)
    newest_good = 0  # size of the newest checkpoint whose head matched

    expected = 1
    prev_hash = GENESIS_HASH
    before_prev = ""  # the entry_hash one further back, to recognise an inserted event
    prev_time: datetime | None = None
    last_seq = 0
    table = Event.__table__
    stmt = select(*table.c).where(table.c.chain_id == chain_id).order_by(table.c.seq, table.c.id)
    result = session.connection().execute(stmt.execution_options(yield_per=batch))
    for row in result:
        seq = row.seq
        if seq < expected:
            fail(Failure(chain_id, seq, "duplicate seq"))
            continue
        if seq > expected:
            fail(Failure(chain_id, expected, f"missing events {expected}..{seq - 1}"))
        try:
            if stored_payload_bytes(row) != row.canonical:
                fail(Failure(chain_id, seq, "stored columns differ from the hashed bytes"))
        except (ValueError, TypeError, AttributeError) as exc:  # CanonicalError is a TypeError
            fail(Failure(chain_id, seq, f"stored columns unreadable: {exc}"))
        if row.prev_hash != prev_hash:
            if row.entry_hash == prev_hash:
                fail(Failure(chain_id, seq, f"duplicate of event {seq - 1}"))
            elif row.prev_hash == before_prev and seq > 1:
                fail(Failure(chain_id, seq - 1, f"event {seq - 1} was inserted: event {seq} links past it"))
            else:
                fail(Failure(chain_id, seq, "prev_hash does not link to the previous event"))
        try:
            recomputed = entry_hash(chain_id, seq, row.prev_hash, bytes(row.canonical))
        except (ValueError, TypeError) as exc:
            recomputed = f"unreadable: {exc}"
        if recomputed != row.entry_hash:
            fail(Failure(chain_id, seq, "entry_hash does not recompute"))
        try:
            at: datetime | None = _aware(row.occurred_at)
        except AttributeError:
            at = None
        if prev_time is not None and at is not None and at < prev_time:
            fail(Failure(chain_id, seq, "time runs backwards"))
        for cp in by_size.get(seq, []):
            report.checkpoints_checked += 1
            if cp.head_hash != row.entry_hash:
                fail(
                    Failure(
                        chain_id,
                        seq,
                        f"differs from the checkpoint signed at size {seq}: the chain "
                        f"was rewritten between seq {newest_good + 1} and {seq}",
                    )
                )
            else:
                newest_good = max(newest_good, seq)
        if replayer is not None:
            replayer.feed(row)
        prev_time = at or prev_time
        before_prev, prev_hash = prev_hash, row.entry_hash
        last_seq = seq
        expected = seq + 1

    report.size = last_seq
    report.head_hash = prev_hash
    longest = max(by_size, default=0)
    if longest > last_seq:
        fail(
            Failure(
                chain_id,
                last_seq + 1,
                f"chain has {last_seq} events, a checkpoint vouches for {longest}: events removed",
            )
        )
    head = session.get(ChainHead, chain_id, populate_existing=True)
    if head is not None and (head.seq != last_seq or head.head_hash != prev_hash):
        fail(
            Failure(
                chain_id,
                min(head.seq, last_seq) + 1 if head.seq != last_seq else last_seq,
                "chain head row differs from the newest event",
            )
        )
    if replayer is not None:
        report.failures.extend(replayer.finish(session))
    report.failures.sort()
    return report


def verify(
    session: Session,
    *,
    trusted_keys: dict[str, Ed25519PublicKey],
    checkpoints: Iterable[SignedCheckpoint] = (),
    chain: str | None = None,
    replayer_factory: Callable[[str], Replayer | None] | None = None,
) -> Report:
    """Verify one chain or all of them. `replayer_factory(chain_id)` may return a Replayer or None."""
    kept = list(checkpoints)
    report = Report()
    ids = [chain] if chain else chain_ids(session)
    ids += sorted({c.chain_id for c in kept} - set(ids)) if not chain else []
    for chain_id in ids:
        replayer = replayer_factory(chain_id) if replayer_factory else None
        report.chains[chain_id] = verify_chain(
            session, chain_id, trusted_keys=trusted_keys, checkpoints=kept, replayer=replayer
        )
    return report


def count_events(session: Session, chain_id: str | None = None) -> int:
    stmt = select(func.count(Event.id))
    if chain_id:
        stmt = stmt.where(Event.chain_id == chain_id)
    return int(session.execute(stmt).scalar_one())
