"""The outbox: a notice and one delivery per (recipient, channel), written in the caller's transaction so
they stand or fall with the audit event that causes them. The worker sends them later."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from finance.auth.models import User
from finance.db import utcnow
from finance.extensions import db
from finance.notices.models import Channel, Notice, NoticeDelivery, NoticeKind, NoticeSetting
from finance.orgs.models import OrgUnit
from finance.payment_requests.models import PaymentRequest
from finance.timefmt import CST, to_local


def setting_of(user_id: int) -> NoticeSetting | None:
    return db.session.get(NoticeSetting, user_id)


def settings_of(user_ids: list[int]) -> dict[int, NoticeSetting]:
    """The settings of several people in one query."""
    if not user_ids:
        return {}
    rows = db.session.execute(select(NoticeSetting).where(NoticeSetting.user_id.in_(user_ids))).scalars()
    return {row.user_id: row for row in rows}


def channels_for(user: User, setting: NoticeSetting | None = None) -> list[Channel]:
    """The channels a person has chosen; without a choice, SMS to the phone on their account."""
    if setting is None:
        return [Channel.SMS] if user.phone else []
    chosen = [(Channel.EMAIL, setting.email_on), (Channel.SMS, setting.sms_on), (Channel.WECOM, setting.wecom_on),
              (Channel.DINGTALK, setting.dingtalk_on)]
    return [channel for channel, on in chosen if on]


def quiet_until(setting: NoticeSetting | None, now: datetime) -> datetime | None:
    """When `now` falls in the person's quiet hours (China time), the instant they end; else None."""
    if setting is None or setting.quiet_start is None or setting.quiet_end is None:
        return None
    start, end = setting.quiet_start, setting.quiet_end
    if start == end:
        return None
    local = to_local(now)
    minute = local.hour * 60 + local.minute
    inside = start <= minute < end if start < end else (minute >= start or minute < end)
    if not inside:
        return None
    end_day = local.date() if minute < end else local.date() + timedelta(days=1)
    return datetime.combine(end_day, time(end // 60, end % 60), tzinfo=CST)


def dedupe_key(notice_id: int, user_id: int, channel: Channel) -> str:
    return f"n{notice_id}-u{user_id}-{channel.value}"


def enqueue(kind: NoticeKind, *, key: str, village: OrgUnit | None, recipients: Iterable[User],
            request: PaymentRequest | None = None, link: str | None = None, event_id: str | None = None,
            role: str | None = None, to_role: str | None = None, working_days: int | None = None,
            exclude: int | None = None, new_cause: bool = False) -> Notice | None:
    """Write a notice and its deliveries in the current transaction. `key` names what caused it; a notice
    with the same key already written is not written again (None). `exclude`: the acting user's id,
    never told of their own action. `new_cause`: the key names an audit event written just now, so it
    cannot be taken and the checks for that are skipped (the hand-off path stays short)."""
    if not new_cause and db.session.execute(select(Notice.id).where(Notice.key == key)).first() is not None:
        return None
    people = {u.id: u for u in recipients if u.id != exclude}
    now = utcnow()
    notice = Notice(
        kind=kind, key=key, event_id=event_id, village=village,
        request_id=request.id if request is not None else None,
        number=request.number if request is not None else None,
        village_name=village.name if village is not None else "",
        amount=request.amount if request is not None else None,
        link=link or (f"/requests/{request.id}" if request is not None else "/"),
        role=role, to_role=to_role, working_days=working_days, created_at=now,
    )
    if new_cause:
        db.session.add(notice)
        db.session.flush()
    else:
        try:
            with db.session.begin_nested():
                db.session.add(notice)
                db.session.flush()
        except IntegrityError:
            return None  # written at the same moment by another process (two cron runs)
    settings = settings_of(list(people))
    for user in people.values():
        setting = settings.get(user.id)
        due = quiet_until(setting, now) or now
        for channel in channels_for(user, setting):
            db.session.add(NoticeDelivery(notice=notice, user_id=user.id, channel=channel,
                                          dedupe_key=dedupe_key(notice.id, user.id, channel),
                                          next_attempt_at=due, created_at=now))
    db.session.flush()
    return notice
