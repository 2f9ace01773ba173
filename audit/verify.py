"""The offline verifier: links, hashes, stored bytes, time order, checkpoints and (through a replayer
supplied by the application) the business rows that the events describe."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from audit.canonical import GENESIS_HASH, CanonicalError, canonical_bytes, entry_hash
from audit.checkpoints import SignedCheckpoint
from audit.log import event_payload
from audit.models import ChainHead, Checkpoint, Event


@dataclass(frozen=True, order=True)
class Failure:
    chain_id: str
    seq: int
    reason: str

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

    def feed(self, event: Event) -> None: ...

    def finish(self, session: Session) -> list[Failure]: ...


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def chain_ids(session: Session) -> list[str]:
    ids = set(session.execute(select(Event.chain_id).distinct()).scalars())
    ids |= set(session.execute(select(Checkpoint.chain_id).distinct()).scalars())
    ids |= set(session.execute(select(ChainHead.chain_id)).scalars())
    return sorted(ids)


def verify_chain(
    session: Session,
    chain_id: str,
    *,
    trusted_keys: dict[str, Ed25519PublicKey],
    checkpoints: Iterable[SignedCheckpoint] = (),
    replayer: Replayer | None = None,
    batch: int = 5000,
) -> ChainReport:
    """Check one chain end to end. Reads the events in seq order, in batches, holding one in memory."""
    report = ChainReport(chain_id)
    fail = report.failures.append
    cps = [SignedCheckpoint.from_row(r) for r in
           session.execute(select(Checkpoint).where(Checkpoint.chain_id == chain_id)).scalars()]
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
    prev_time: datetime | None = None
    last_seq = 0
    stmt = select(Event).where(Event.chain_id == chain_id).order_by(Event.seq, Event.id)
    for event in session.execute(stmt.execution_options(yield_per=batch)).scalars():
        seq = event.seq
        if seq < expected:
            fail(Failure(chain_id, seq, "duplicate seq"))
            continue
        if seq > expected:
            fail(Failure(chain_id, expected, f"missing events {expected}..{seq - 1}"))
        try:
            if canonical_bytes(event_payload(event)) != event.canonical:
                fail(Failure(chain_id, seq, "stored columns differ from the hashed bytes"))
        except (CanonicalError, ValueError) as exc:
            fail(Failure(chain_id, seq, f"stored columns unreadable: {exc}"))
        if event.prev_hash != prev_hash:
            fail(Failure(chain_id, seq, "prev_hash does not link to the previous event"))
        if entry_hash(chain_id, seq, event.prev_hash, event.canonical) != event.entry_hash:
            fail(Failure(chain_id, seq, "entry_hash does not recompute"))
        at = _aware(event.occurred_at)
        if prev_time is not None and at < prev_time:
            fail(Failure(chain_id, seq, "time runs backwards"))
        for cp in by_size.get(seq, []):
            report.checkpoints_checked += 1
            if cp.head_hash != event.entry_hash:
                fail(Failure(chain_id, seq, f"checkpoint head differs: chain rewritten after seq "
                                            f"{newest_good}"))
            else:
                newest_good = max(newest_good, seq)
        if replayer is not None:
            replayer.feed(event)
        prev_time = at
        prev_hash = event.entry_hash
        last_seq = seq
        expected = seq + 1
        session.expunge(event)

    report.size = last_seq
    report.head_hash = prev_hash
    longest = max(by_size, default=0)
    if longest > last_seq:
        fail(Failure(chain_id, last_seq + 1, f"chain has {last_seq} events, a checkpoint vouches for {longest}"))
    head = session.get(ChainHead, chain_id)
    if head is not None and (head.seq != last_seq or head.head_hash != prev_hash):
        fail(Failure(chain_id, min(head.seq, last_seq) + 1 if head.seq != last_seq else last_seq,
                     "chain head row differs from the newest event"))
    if replayer is not None:
        report.failures.extend(replayer.finish(session))
    return report


def verify(
    session: Session,
    *,
    trusted_keys: dict[str, Ed25519PublicKey],
    checkpoints: Iterable[SignedCheckpoint] = (),
    chain: str | None = None,
    replayer_factory=None,
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
