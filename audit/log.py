"""The one write path of the trail: `record()`."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from audit.bulk import insert_rows
from audit.canonical import GENESIS_HASH, SCHEMA_VERSION, canonical_bytes, entry_hash, normalise, timestamp
from audit.models import ChainHead, Event

SYSTEM_CHAIN = "system"


def village_chain(village_code: str) -> str:
    return f"village:{village_code}"


@dataclass(frozen=True)
class Actor:
    """Who acted: a user id and name, the role they acted in and the code of that role's org unit."""

    id: int | None
    name: str | None
    role: str | None
    org: str | None


@dataclass(frozen=True)
class Context:
    """Where the action came from: the HTTP request id and client address, when there was one."""

    request_id: str | None = None
    client_addr: str | None = None


def _json(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(normalise(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_payload(event: Event) -> dict[str, Any]:
    """The payload whose canonical bytes are hashed, rebuilt from an event's columns."""
    occurred = event.occurred_at
    if occurred.tzinfo is None:  # SQLite hands back naive UTC
        occurred = occurred.replace(tzinfo=UTC)
    return {
        "schema": event.schema_version,
        "chain": event.chain_id,
        "seq": event.seq,
        "event_id": event.event_id,
        "at": timestamp(occurred),
        "actor": {
            "id": event.actor_id,
            "name": event.actor_name,
            "role": event.actor_role,
            "org": event.actor_org,
        },
        "action": event.action,
        "subject": {"type": event.subject_type, "id": event.subject_id},
        "before": json.loads(event.before) if event.before is not None else None,
        "after": json.loads(event.after) if event.after is not None else None,
        "reason": event.reason,
        "attachments": json.loads(event.attachments),
        "request": {"id": event.http_request_id, "client": event.client_addr},
    }


def _lock_head(session: Session, chain_id: str) -> ChainHead:
    """Take the chain's head row under a row lock, creating it on first use."""
    # populate_existing: the session may hold this row from an earlier transaction (the app keeps
    # objects after commit); the values read under the lock are the ones that count.
    locked = (
        select(ChainHead)
        .where(ChainHead.chain_id == chain_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    head = session.execute(locked).scalar_one_or_none()
    if head is not None:
        return head
    try:
        with session.begin_nested():
            session.add(ChainHead(chain_id=chain_id, seq=0, head_hash=GENESIS_HASH))
    except IntegrityError:
        pass  # another writer created it first; its lock is taken below
    return session.execute(locked).scalar_one()


def record(
    session: Session,
    *,
    chain_id: str,
    action: str,
    subject_type: str,
    subject_id: str | int,
    actor: Actor | None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    reason: str | None = None,
    attachments: Iterable[str] = (),
    context: Context | None = None,
    at: datetime | None = None,
) -> Event:
    """Append one event to `chain_id` inside the caller's transaction.

    Call it from the service that makes the change, before the unit of work commits; the event and the
    change then stand or fall together. Appends to one chain are serialised by a lock on the chain's
    head row (PostgreSQL) or by the database write lock (SQLite, which the app takes at BEGIN), so seq
    runs from 1 without gaps and the chain never forks. Never commits.
    """
    actor = actor or Actor(None, None, None, None)
    context = context or Context()
    head = _lock_head(session, chain_id)
    at = (at or datetime.now(UTC)).astimezone(UTC)
    event = Event(
        chain_id=chain_id,
        seq=head.seq + 1,
        event_id=str(uuid.uuid4()),
        occurred_at=at,
        actor_id=actor.id,
        actor_name=actor.name,
        actor_role=actor.role,
        actor_org=actor.org,
        action=str(action),
        subject_type=subject_type,
        subject_id=str(subject_id),
        before=_json(dict(before)) if before is not None else None,
        after=_json(dict(after)) if after is not None else None,
        reason=reason,
        attachments=_json(sorted(attachments)) or "[]",
        http_request_id=context.request_id,
        client_addr=context.client_addr,
        schema_version=SCHEMA_VERSION,
        prev_hash=head.head_hash,
    )
    event.canonical = canonical_bytes(event_payload(event))
    event.entry_hash = entry_hash(chain_id, event.seq, event.prev_hash, event.canonical)
    head.seq = event.seq
    head.head_hash = event.entry_hash
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class Entry:
    """One event of a `record_many` batch: what `record` takes beside the chain, the context and the time."""

    action: str
    subject_type: str
    subject_id: str | int
    actor: Actor | None = None
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None
    reason: str | None = None
    attachments: tuple[str, ...] = ()


_EVENT_COLUMNS = [c.key for c in Event.__table__.columns if c.key != "id"]


def _dump(value: Any) -> str:
    """Compact sorted-key JSON, as `canonical_bytes` writes it."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)



def record_many(
    session: Session,
    *,
    chain_id: str,
    entries: Iterable[Entry],
    context: Context | None = None,
    at: datetime | None = None,
) -> list[dict[str, Any]]:
    """Append several events to `chain_id` inside the caller's transaction, as `record` would one by one
    (the same payloads, bytes and hashes; seq gapless), but under one lock of the chain's head and written
    together (COPY on PostgreSQL, `audit.bulk`): a bulk import writes a hundred thousand events in
    seconds, not minutes. Returns the events' columns as dicts (not ORM objects, which cost more to make
    than the hashing). Never commits."""
    return record_many_chains(session, {chain_id: entries}, context=context, at=at)[chain_id]


def record_many_chains(
    session: Session,
    batches: Mapping[str, Iterable[Entry]],
    *,
    context: Context | None = None,
    at: datetime | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """`record_many` for several chains at once (a bulk import touching two hundred villages): the heads
    locked in one statement (in chain order, so two writers never wait on each other crosswise), every
    chain's events built as `record_many` builds them and written in one COPY. Returns each chain's rows,
    in the order given. Never commits."""
    context = context or Context()
    at = (at or datetime.now(UTC)).astimezone(UTC)
    heads = _lock_heads(session, list(batches))
    out: dict[str, list[dict[str, Any]]] = {}
    every: list[dict[str, Any]] = []
    for chain_id, entries in batches.items():
        head = heads[chain_id]
        rows = _event_rows(chain_id, head.seq, head.head_hash, entries, context, at)
        out[chain_id] = rows
        every.extend(rows)
    if not every:
        return out
    insert_rows(session, Event.__table__, every)
    for chain_id, rows in out.items():
        if rows:
            heads[chain_id].seq, heads[chain_id].head_hash = rows[-1]["seq"], rows[-1]["entry_hash"]
    session.flush()
    return out


def _lock_heads(session: Session, chain_ids: list[str]) -> dict[str, ChainHead]:
    """The heads of `chain_ids` under a row lock, taken in one statement in chain order; a chain without a
    head yet gets one (`_lock_head`)."""
    if len(chain_ids) == 1:
        return {chain_ids[0]: _lock_head(session, chain_ids[0])}
    locked = (
        select(ChainHead)
        .where(ChainHead.chain_id.in_(chain_ids))
        .order_by(ChainHead.chain_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    heads = {head.chain_id: head for head in session.execute(locked).scalars()}
    missing = sorted(set(chain_ids) - set(heads))
    if missing:
        # new chains (a district's first import): their heads made in one statement, then locked as above
        dialect = session.get_bind().dialect.name
        make = postgresql_insert if dialect == "postgresql" else sqlite_insert
        session.execute(make(ChainHead).values([{"chain_id": c, "seq": 0, "head_hash": GENESIS_HASH} for c in missing])
                        .on_conflict_do_nothing())
        heads.update({head.chain_id: head for head in session.execute(
            locked.where(ChainHead.chain_id.in_(missing))).scalars()})
    return heads


def _event_rows(
    chain_id: str, seq: int, prev: str, entries: Iterable[Entry], context: Context, at: datetime
) -> list[dict[str, Any]]:
    """The rows of `entries` appended after (seq, prev) on `chain_id`: the payload bytes and hashes `record`
    would give each."""
    at_json = _dump({"at": timestamp(at)})[1:-1]
    request = {"id": context.request_id, "client": context.client_addr}
    rows: list[dict[str, Any]] = []
    leads: dict[tuple[str, Actor], str] = {}  # a batch has one actor and few actions
    for item in entries:
        seq += 1
        actor = item.actor or Actor(None, None, None, None)
        before = normalise(dict(item.before)) if item.before is not None else None
        after = normalise(dict(item.after)) if item.after is not None else None
        event_id = str(uuid.uuid4())
        after_json = _dump(after) if after is not None else None
        before_json = _dump(before) if before is not None else None
        attachments_json = _dump(sorted(item.attachments)) if item.attachments else "[]"
        # The canonical bytes are those of `canonical_bytes(payload)`: sorted keys, so "action" and "actor"
        # come before "after" and everything else after it; the (large) "after" is encoded once and spliced
        # in, and so are "before" and "attachments" (each encoded once, for the bytes and for its column).
        lead = leads.get((item.action, actor))
        if lead is None:
            lead = leads[(item.action, actor)] = _dump({
                "action": str(item.action),
                "actor": {"id": actor.id, "name": actor.name, "role": actor.role, "org": actor.org}})
        tail = _dump({
            "chain": chain_id, "event_id": event_id, "reason": item.reason, "request": request,
            "schema": SCHEMA_VERSION, "seq": seq, "subject": {"type": item.subject_type, "id": str(item.subject_id)},
        })
        canonical = (f'{lead[:-1]},"after":{after_json or "null"},{at_json},"attachments":{attachments_json},'
                     f'"before":{before_json or "null"},{tail[1:]}').encode()
        digest = entry_hash(chain_id, seq, prev, canonical)
        rows.append({
            "chain_id": chain_id, "seq": seq, "event_id": event_id, "occurred_at": at, "actor_id": actor.id,
            "actor_name": actor.name, "actor_role": actor.role, "actor_org": actor.org, "action": str(item.action),
            "subject_type": item.subject_type, "subject_id": str(item.subject_id),
            "before": before_json, "after": after_json, "reason": item.reason, "attachments": attachments_json,
            "http_request_id": context.request_id, "client_addr": context.client_addr,
            "schema_version": SCHEMA_VERSION, "canonical": canonical, "prev_hash": prev, "entry_hash": digest,
        })
        prev = digest
    return rows
