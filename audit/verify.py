"""The offline verifier: links, hashes, stored bytes, time order, checkpoints and (through a replayer
supplied by the application) the business rows that the events describe."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from audit.canonical import GENESIS_HASH, entry_prefix
from audit.checkpoints import SignedCheckpoint
from audit.models import ChainHead, Checkpoint, Event

# What the verifier finds, by code: the English the CLI prints, with the parameters each code carries.
# The app shows the same codes in its readers' language (finance.oversight.labels); a code and its
# parameters are the contract, the English may be reworded freely.
CHAIN_FAILURES = {
    "duplicate_seq": "duplicate seq",
    "missing_events": "missing events {first}..{last}",
    "columns_differ": "stored columns differ from the hashed bytes",
    "columns_unreadable": "stored columns unreadable: {error}",
    "duplicate_event": "duplicate of event {event}",
    "inserted_event": "event {event} was inserted: event {next} links past it",
    "prev_hash_broken": "prev_hash does not link to the previous event",
    "entry_hash_wrong": "entry_hash does not recompute",
    "time_backwards": "time runs backwards",
    "checkpoint_rewritten": "differs from the checkpoint signed at size {size}: the chain was rewritten between seq "
    "{first} and {last}",
    "checkpoint_untrusted": "checkpoint signature invalid or key {key} not trusted",
    "events_removed": "chain has {size} events, a checkpoint vouches for {vouched}: events removed",
    "head_differs": "chain head row differs from the newest event",
}


@dataclass(frozen=True, order=True)
class Failure:
    """One finding: where (chain, seq), what (`code` with its `params`), in English (`reason`)."""

    chain_id: str
    seq: int
    code: str
    params: tuple[tuple[str, str | int], ...] = ()
    kind: str = "chain"  # "chain": links, hashes, checkpoints; "replay": business rows against events
    reason: str = field(default="", compare=False)

    @classmethod
    def of(cls, chain_id: str, seq: int, code: str, template: str, params: Mapping[str, str | int],
           kind: str = "chain") -> Failure:
        """A failure whose English reason is `template` filled with `params`."""
        return cls(chain_id, seq, code, tuple(sorted(params.items())), kind, template.format(**params))

    @property
    def args(self) -> dict[str, str | int]:
        return dict(self.params)

    def __str__(self) -> str:
        return f"{self.chain_id} #{self.seq}: {self.reason}"


def _failure(chain_id: str, at: int, code: str, **params: str | int) -> Failure:
    return Failure.of(chain_id, at, code, CHAIN_FAILURES[code], params)


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
        """One event, in seq order: its `seq`, `action`, `subject_type`, `subject_id`, `actor_id`,
        `actor_role`, `before` and `after` (JSON text), `reason` and `attachments` (JSON list text)."""

    def finish(self, session: Session) -> list[Failure]:
        """Compare what the events said with the rows; failures name the event that last spoke."""


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class _Fed:
    """What a replayer is given of each event."""

    seq: int
    subject_type: str
    subject_id: str
    after: str | None
    action: str = ""
    actor_id: int | None = None
    actor_role: str | None = None
    before: str | None = None
    reason: str | None = None
    attachments: str | None = None


def chain_ids(session: Session) -> list[str]:
    ids = set(session.execute(select(Event.chain_id).distinct()).scalars())
    ids |= set(session.execute(select(Checkpoint.chain_id).distinct()).scalars())
    ids |= set(session.execute(select(ChainHead.chain_id)).scalars())
    return sorted(ids)


# The columns the verifier reads, in this order; a row unpacks straight into local names.
_COLUMNS = (
    "seq",
    "event_id",
    "occurred_at",
    "actor_id",
    "actor_name",
    "actor_role",
    "actor_org",
    "action",
    "subject_type",
    "subject_id",
    "before",
    "after",
    "reason",
    "attachments",
    "http_request_id",
    "client_addr",
    "schema_version",
    "canonical",
    "prev_hash",
    "entry_hash",
)
_str = json.encoder.encode_basestring  # type: ignore[attr-defined]  # the C encoder json.dumps uses


def _utc_text(value: datetime) -> str:
    if value.tzinfo is None:  # SQLite hands back naive UTC
        value = value.replace(tzinfo=UTC)
    elif value.utcoffset():
        value = value.astimezone(UTC)
    return value.isoformat(timespec="microseconds")[:26] + "Z"


def _payload_text(
    chain_id: str,
    seq: int,
    event_id: str,
    occurred_at: datetime,
    actor_id: int | None,
    actor_name: str | None,
    actor_role: str | None,
    actor_org: str | None,
    action: str,
    subject_type: str,
    subject_id: str,
    before: str | None,
    after: str | None,
    reason: str | None,
    attachments: str | None,
    http_request_id: str | None,
    client_addr: str | None,
    schema_version: int,
) -> bytes:
    # The canonical payload written out key by key in sorted order. `before`, `after` and `attachments`
    # are stored as canonical JSON already (audit.log writes them so) and go in as they are: a column
    # that is not byte-for-byte canonical fails the comparison, which is what a verifier wants.
    q = _str  # NOT NULL columns: a NULL put there by hand raises TypeError, reported as unreadable
    return (
        f'{{"action":{q(action)},"actor":{{"id":{"null" if actor_id is None else int(actor_id)},'
        f'"name":{"null" if actor_name is None else q(actor_name)},'
        f'"org":{"null" if actor_org is None else q(actor_org)},'
        f'"role":{"null" if actor_role is None else q(actor_role)}}},'
        f'"after":{"null" if after is None else after},'
        f'"at":"{_utc_text(occurred_at)}","attachments":{"null" if attachments is None else attachments},'
        f'"before":{"null" if before is None else before},"chain":{q(chain_id)},"event_id":{q(event_id)},'
        f'"reason":{"null" if reason is None else q(reason)},'
        f'"request":{{"client":{"null" if client_addr is None else q(client_addr)},'
        f'"id":{"null" if http_request_id is None else q(http_request_id)}}},'
        f'"schema":{int(schema_version)},"seq":{int(seq)},"subject":{{"id":{q(subject_id)},'
        f'"type":{q(subject_type)}}}}}'
    ).encode()


def stored_payload_bytes(row: Any) -> bytes:
    """The canonical bytes the stored columns of an event describe (`row`: a Core row or an Event).

    Equal to `canonical_bytes(event_payload(row))` for every event `record` writes, but built without
    parsing and re-encoding the JSON columns; `tests/test_audit_canonical.py` checks they agree.
    """
    return _payload_text(row.chain_id, *(getattr(row, c) for c in _COLUMNS[:17]))


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
            fail(_failure(chain_id, cp.size, "checkpoint_untrusted", key=cp.key_id))
            continue
        by_size.setdefault(cp.size, []).append(cp)
    newest_good = 0  # size of the newest checkpoint whose head matched

    expected = 1
    prev_hash = GENESIS_HASH
    before_prev = ""  # the entry_hash one further back, to recognise an inserted event
    prev_time: datetime | None = None
    last_seq = 0
    prefix = entry_prefix(chain_id)
    sha256 = hashlib.sha256
    table = Event.__table__
    stmt = (
        select(*(table.c[name] for name in _COLUMNS))
        .where(table.c.chain_id == chain_id)
        .order_by(table.c.seq, table.c.id)
    )
    result = session.connection().execute(stmt.execution_options(yield_per=batch))
    for row in result:
        (
            seq,
            event_id,
            occurred_at,
            actor_id,
            actor_name,
            actor_role,
            actor_org,
            action,
            subject_type,
            subject_id,
            before,
            after,
            reason,
            attachments,
            http_request_id,
            client_addr,
            schema_version,
            canonical,
            stored_prev,
            stored_entry,
        ) = row
        if seq != expected:
            if seq < expected:
                fail(_failure(chain_id, seq, "duplicate_seq"))
                continue
            fail(_failure(chain_id, expected, "missing_events", first=expected, last=seq - 1))
        try:
            canonical = bytes(canonical)
            if (
                _payload_text(
                    chain_id,
                    seq,
                    event_id,
                    occurred_at,
                    actor_id,
                    actor_name,
                    actor_role,
                    actor_org,
                    action,
                    subject_type,
                    subject_id,
                    before,
                    after,
                    reason,
                    attachments,
                    http_request_id,
                    client_addr,
                    schema_version,
                )
                != canonical
            ):
                fail(_failure(chain_id, seq, "columns_differ"))
            recomputed = sha256(
                prefix + seq.to_bytes(8, "big") + bytes.fromhex(stored_prev) + sha256(canonical).digest()
            ).hexdigest()
        except (ValueError, TypeError, AttributeError, OverflowError) as exc:
            fail(_failure(chain_id, seq, "columns_unreadable", error=str(exc)))
            recomputed = ""
        if stored_prev != prev_hash:
            if stored_entry == prev_hash:
                fail(_failure(chain_id, seq, "duplicate_event", event=seq - 1))
            elif stored_prev == before_prev and seq > 1:
                fail(_failure(chain_id, seq - 1, "inserted_event", event=seq - 1, next=seq))
            else:
                fail(_failure(chain_id, seq, "prev_hash_broken"))
        if recomputed != stored_entry or len(stored_prev or "") != 64:
            fail(_failure(chain_id, seq, "entry_hash_wrong"))
        if prev_time is not None and occurred_at is not None and _aware(occurred_at) < prev_time:
            fail(_failure(chain_id, seq, "time_backwards"))
        if seq in by_size:
            for cp in by_size[seq]:
                report.checkpoints_checked += 1
                if cp.head_hash != stored_entry:
                    fail(_failure(chain_id, seq, "checkpoint_rewritten", size=seq, first=newest_good + 1, last=seq))
                else:
                    newest_good = max(newest_good, seq)
        if replayer is not None:
            replayer.feed(_Fed(seq, subject_type, subject_id, after, action, actor_id, actor_role, before, reason,
                               attachments))
        if occurred_at is not None:
            prev_time = _aware(occurred_at)
        before_prev, prev_hash = prev_hash, stored_entry
        last_seq = seq
        expected = seq + 1

    report.size = last_seq
    report.head_hash = prev_hash
    longest = max(by_size, default=0)
    if longest > last_seq:
        fail(_failure(chain_id, last_seq + 1, "events_removed", size=last_seq, vouched=longest))
    head = session.get(ChainHead, chain_id, populate_existing=True)
    if head is not None and (head.seq != last_seq or head.head_hash != prev_hash):
        fail(_failure(chain_id, min(head.seq, last_seq) + 1 if head.seq != last_seq else last_seq, "head_differs"))
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
