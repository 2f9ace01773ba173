"""night_approval: a step approved at night (China time, 22:00 to 06:00 by default).

Signal: an approval of the request's latest round in the night hours. Context, not a flag: a purpose with
an emergency word (防汛, 抢险, 救灾 …), or a night on which at least `emergency_night_requests` requests
of the township were approved (a flood night: the whole township at work). One flag per request. Yellow."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import gettext as _
from sqlalchemy import distinct, func, select

from finance.extensions import db
from finance.flags.data import Data
from finance.flags.detectors.common import has_word
from finance.flags.engine import Detector, Finding, request_evidence
from finance.flags.models import Colour, FlagType
from finance.orgs.models import OrgUnit
from finance.payment_requests.models import PaymentRequest, RequestAction
from finance.timefmt import CST, to_local
from finance.workflow import Action


def is_night(at: datetime, start: int, end: int) -> bool:
    hour = to_local(at).hour
    return hour >= start or hour < end


def night_of(at: datetime, end: int) -> date:
    """The evening a night belongs to (01:30 on the 5th is the night of the 4th)."""
    local = to_local(at)
    return (local - timedelta(hours=end)).date() if local.hour < end else local.date()


def _busy_night(township_id: int | None, night: date, start: int, end: int, cache: dict[tuple[int | None, date], int]
                ) -> int:
    """How many requests of the township had a step approved in that night."""
    key = (township_id, night)
    if key not in cache:
        since = datetime.combine(night, time(start), CST).astimezone(UTC)
        until = datetime.combine(night + timedelta(days=1), time(end), CST).astimezone(UTC)
        villages = select(OrgUnit.id).where(OrgUnit.parent_id == township_id)
        cache[key] = db.session.execute(
            select(func.count(distinct(RequestAction.request_id)))
            .join(PaymentRequest, PaymentRequest.id == RequestAction.request_id)
            .where(RequestAction.action == Action.APPROVE, RequestAction.created_at >= since,
                   RequestAction.created_at < until, PaymentRequest.village_id.in_(villages))).scalar_one()
    return cache[key]


def detect(data: Data) -> Iterable[Finding]:
    cache: dict[tuple[int | None, date], int] = {}
    for r in data.focused():
        rules = data.rules(r.village_id)
        approvals = data.approvals(r.id)
        if not approvals:
            continue
        latest = max(a.round for a in approvals)
        nights = [a for a in approvals if a.round == latest and is_night(a.at, rules.night_start, rules.night_end)]
        if not nights or has_word(r.purpose, rules.emergency_words):
            continue
        township = data.township_of(r.village_id)
        if any(_busy_night(township, night_of(a.at, rules.night_end), rules.night_start, rules.night_end, cache)
               >= rules.emergency_night_requests for a in nights):
            continue
        first = nights[0]
        yield Finding(FlagType.NIGHT_APPROVAL, Colour.YELLOW, r.village_id, f"night_approval:{r.id}:{latest}",
                      _("%(who)s于夜间 %(at)s 审批通过", who=data.user_name(first.actor_id),
                        at=to_local(first.at).strftime("%Y-%m-%d %H:%M")),
                      [r], {"requests": [request_evidence(r)],
                            "approvals": [{"role": a.role, "actor": data.user_name(a.actor_id), "at": a.at.isoformat()}
                                          for a in nights]},
                      amount=r.amount, occurred_at=first.at)


DETECTOR = Detector(FlagType.NIGHT_APPROVAL, "夜间（22:00 至次日 6:00）审批；抢险救灾等紧急情况除外。", detect)
