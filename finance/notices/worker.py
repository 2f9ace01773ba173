"""The worker: `flask --app finance worker`. It claims due deliveries, sends each outside any transaction,
and records the outcome. Several workers may run on PostgreSQL: a claim takes rows with
SELECT … FOR UPDATE SKIP LOCKED and marks them `sending` with a lease, so no two workers hold one row.
A worker that dies mid-send leaves its rows `sending`; when the lease runs out another (or the same,
restarted) worker claims them again and sends with the same dedupe key, so nothing is lost and the
provider sends nothing twice. On SQLite one worker works (every transaction takes the write lock).

Retries back off: backoff × 4^(attempt−1), at most 6 hours; after the last attempt, or at once when the
provider refuses for good, the delivery is `failed` with its reason, listed for the admin."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import selectinload

from finance.db import utcnow
from finance.extensions import db
from finance.money import format_amount
from finance.notices.channels import Message, NoticeConfig, Recipient, SendError, adapter_for, load_config
from finance.notices.models import Channel, DeliveryState, Notice, NoticeDelivery, NoticeSetting
from finance.notices.outbox import quiet_until

log = logging.getLogger(__name__)
MAX_BACKOFF = timedelta(hours=6)


def worker_name() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class Outcome:
    sent: list[int] = field(default_factory=list)
    retried: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    deferred: list[int] = field(default_factory=list)  # quiet hours

    @property
    def handled(self) -> int:
        return len(self.sent) + len(self.retried) + len(self.failed) + len(self.deferred)


def backoff(config: NoticeConfig, attempts: int) -> timedelta:
    delay = timedelta(seconds=config.backoff_seconds * 4 ** max(0, attempts - 1))
    return min(delay, MAX_BACKOFF)


def claim(owner: str, now: datetime, limit: int, lease_seconds: int) -> list[int]:
    """Take up to `limit` due deliveries (pending and due, or sending with an expired lease) for `owner`,
    in one committed transaction. Rows another worker has locked are skipped, not waited for."""
    d = NoticeDelivery
    due = or_(and_(d.state == DeliveryState.PENDING, d.next_attempt_at <= now),
              and_(d.state == DeliveryState.SENDING, d.lease_until < now))
    picked = (select(d.id).where(due).order_by(d.next_attempt_at, d.id).limit(limit)
              .with_for_update(skip_locked=True).cte("picked").prefix_with("MATERIALIZED"))
    stmt = (update(d).where(d.id.in_(select(picked.c.id)))
            .values(state=DeliveryState.SENDING, lease_owner=owner,
                    lease_until=now + timedelta(seconds=lease_seconds), attempts=d.attempts + 1)
            .returning(d.id))
    try:
        ids = sorted(db.session.execute(stmt, execution_options={"synchronize_session": False}).scalars())
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return ids


def release(owner: str, ids: list[int]) -> None:
    """Give back deliveries this worker claimed but will not send (it is stopping), uncounted."""
    d = NoticeDelivery
    db.session.execute(
        update(d).where(d.id.in_(ids), d.lease_owner == owner, d.state == DeliveryState.SENDING)
        .values(state=DeliveryState.PENDING, lease_owner=None, lease_until=None, attempts=d.attempts - 1),
        execution_options={"synchronize_session": False},
    )
    db.session.commit()


def _message(notice: Notice, config: NoticeConfig) -> Message:
    with force_locale("zh_Hans_CN"):
        title = notice.kind.label
    amount = f"¥{format_amount(notice.amount)}" if notice.amount is not None else ""
    return Message(title=title, number=notice.number or "", village=notice.village_name, amount=amount,
                   link=config.base_url + notice.link)


def _recipient(delivery: NoticeDelivery, setting: NoticeSetting | None) -> Recipient:
    user = delivery.user
    mobile = (setting.mobile if setting is not None else None) or user.phone
    if setting is None:
        return Recipient(name=user.display_name, mobile=mobile)
    return Recipient(name=user.display_name, email=setting.email, mobile=mobile, wecom_key=setting.wecom_key,
                     dingtalk_token=setting.dingtalk_token, dingtalk_secret=setting.dingtalk_secret)


def _finish(delivery_id: int, owner: str, **values: object) -> bool:
    """Record an outcome, if this worker still holds the lease (else another took it over: let it be)."""
    d = NoticeDelivery
    result = db.session.execute(
        update(d).where(d.id == delivery_id, d.lease_owner == owner, d.state == DeliveryState.SENDING)
        .values(lease_owner=None, lease_until=None, **values),
        execution_options={"synchronize_session": False},
    )
    db.session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


def deliver(delivery_ids: list[int], owner: str, config: NoticeConfig, now: datetime, outcome: Outcome,
            stop: threading.Event | None = None) -> None:
    """Send claimed deliveries one by one and record each outcome as soon as it is known. What they need
    (notice, person, settings) is read in one go, and no transaction is open while a provider answers."""
    rows = db.session.execute(
        select(NoticeDelivery).where(NoticeDelivery.id.in_(delivery_ids), NoticeDelivery.lease_owner == owner,
                                     NoticeDelivery.state == DeliveryState.SENDING)
        .options(selectinload(NoticeDelivery.notice), selectinload(NoticeDelivery.user))
        .order_by(NoticeDelivery.id).execution_options(populate_existing=True)
    ).scalars().all()
    settings = {s.user_id: s for s in db.session.execute(
        select(NoticeSetting).where(NoticeSetting.user_id.in_({d.user_id for d in rows}))
        .execution_options(populate_existing=True)).scalars()}
    work = []
    for d in rows:
        setting = settings.get(d.user_id)
        work.append((d.id, d.dedupe_key, d.channel, d.attempts, d.last_error, d.user.active,
                     _message(d.notice, config), _recipient(d, setting), quiet_until(setting, now)))
    db.session.commit()  # no transaction (and on SQLite no write lock) is held while the providers answer
    for i, (delivery_id, key, channel, attempts, last_error, active, message, to, quiet) in enumerate(work):
        if stop is not None and stop.is_set():
            release(owner, [w[0] for w in work[i:]])  # stopping: what was claimed but not sent goes back
            return
        if quiet is not None:  # quiet hours: wait for their end; this does not count as an attempt
            _finish(delivery_id, owner, state=DeliveryState.PENDING, next_attempt_at=quiet,
                    attempts=NoticeDelivery.attempts - 1)
            outcome.deferred.append(delivery_id)
        elif attempts > config.max_attempts:  # a worker died during the last attempt
            _finish(delivery_id, owner, state=DeliveryState.FAILED,
                    last_error=last_error or "the worker stopped during the last attempt")
            outcome.failed.append(delivery_id)
        elif not active:
            _finish(delivery_id, owner, state=DeliveryState.FAILED, last_error="account deactivated")
            outcome.failed.append(delivery_id)
        else:
            _send(delivery_id, owner, config, now, outcome, channel, to, message, key, attempts)


def _send(delivery_id: int, owner: str, config: NoticeConfig, now: datetime, outcome: Outcome, channel: Channel,
          to: Recipient, message: Message, key: str, attempts: int) -> None:
    try:
        ref = adapter_for(channel, config).send(to, message, key)
    except SendError as exc:
        if exc.retryable and attempts < config.max_attempts:
            _finish(delivery_id, owner, state=DeliveryState.PENDING, last_error=exc.reason,
                    next_attempt_at=now + backoff(config, attempts))
            outcome.retried.append(delivery_id)
        else:
            _finish(delivery_id, owner, state=DeliveryState.FAILED, last_error=exc.reason)
            outcome.failed.append(delivery_id)
        log.warning("notice delivery %s (%s) attempt %s: %s", delivery_id, channel, attempts, exc.reason)
        return
    _finish(delivery_id, owner, state=DeliveryState.SENT, sent_at=utcnow(), provider_ref=ref[:100] or None,
            last_error=None)
    outcome.sent.append(delivery_id)


def run_once(owner: str | None = None, *, now: datetime | None = None, batch: int = 20,
             stop: threading.Event | None = None) -> Outcome:
    """Claim and send what is due now, batch after batch, until nothing is due (or `stop` is set)."""
    config = load_config(current_app._get_current_object())  # type: ignore[attr-defined]
    owner = owner or worker_name()
    outcome = Outcome()
    # The lease outlasts a whole batch of sends that all wait for their timeout, so no other worker takes
    # a delivery while this one may still be sending it.
    lease = max(config.lease_seconds, int(batch * config.timeout * 1.5))
    while stop is None or not stop.is_set():
        moment = now or utcnow()
        ids = claim(owner, moment, batch, lease)
        if not ids:
            break
        deliver(ids, owner, config, moment, outcome, stop)
        if now is not None and len(ids) < batch:
            break
    return outcome


def run_forever(interval: float = 2.0, batch: int = 20, stop: threading.Event | None = None) -> None:
    stop = stop or threading.Event()
    owner = worker_name()
    log.info("notice worker %s started", owner)
    while not stop.is_set():
        try:
            run_once(owner, batch=batch, stop=stop)
        except Exception:  # a database hiccup must not end the worker; it tries again next round
            log.exception("notice worker round failed")
            db.session.rollback()
        finally:
            db.scoped.remove()
        stop.wait(interval)
