"""The liaison's trail page of one request, made readable (issue 16 item 12): recorded values shown as
names and labels (the requester's name, the village's name, the step's role, the subject's name), each
event summed up in a line or two with its raw record folded away, and the request's own verification
result (its events and its rows checked against the chain) at the top."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from audit.verify import Failure
from finance.auth.models import User
from finance.extensions import db
from finance.money import format_amount
from finance.orgs.models import AccountSubject, OrgUnit
from finance.oversight.labels import field_label, show_value
from finance.oversight.queries import TimelineEntry
from finance.oversight.verification import verify_chains
from finance.payment_requests.models import PaymentRequest
from finance.payment_requests.route import steps_of

# What a line sums up an event by (a new draft: its main fields; a change: what changed, bookkeeping
# aside); the whole record is folded under it.
CREATE_SUMMARY = ("amount", "payee_name")
NOT_SUMMED = ("number", "village", "requester_id", "round", "policy_id", "step",  # the step: the role says it
              "route_roles", "route_amount", "controls", "recusals", "committee")
MONEY = ("amount", "meeting_amount")


@dataclass(frozen=True)
class Shown:
    label: str
    old: str | None  # None: not a change (a value as recorded)
    new: str


@dataclass(frozen=True)
class TrailLine:
    entry: TimelineEntry
    summary: list[Shown]
    raw: list[Shown]


@dataclass(frozen=True)
class RequestVerification:
    """The request's own result: the failures at its events or about its rows, and how many the
    village's chain has elsewhere."""

    events: int
    chain_size: int
    own: list[Failure] = field(default_factory=list)
    elsewhere: int = 0

    @property
    def ok(self) -> bool:
        return not self.own and not self.elsewhere


def verification_of(req: PaymentRequest, timeline: list[TimelineEntry], chain_id: str) -> RequestVerification:
    report = verify_chains([chain_id])[chain_id]
    seqs = {t.event.seq for t in timeline}
    names = {str(req.id), req.number or ""}
    own = [f for f in report.failures
           if (f.kind == "replay" and dict(f.params).get("request") in names)
           or (f.kind != "replay" and f.seq in seqs)]
    return RequestVerification(len(timeline), report.size, own, len(report.failures) - len(own))


class Names:
    """Recorded ids and codes of one request's events, read as names (one query per kind)."""

    def __init__(self, req: PaymentRequest, timeline: list[TimelineEntry]) -> None:
        values: dict[str, set[str]] = {"requester_id": set(), "village": set(), "subject": set()}
        for t in timeline:
            for payload in (t.before, t.after):
                for key, found in values.items():
                    if payload.get(key) not in (None, ""):
                        found.add(str(payload[key]))
        ids = [int(v) for v in values["requester_id"] if v.isdigit()]
        self.people = {str(u.id): u.display_name for u in db.session.execute(
            select(User).where(User.id.in_(ids))).scalars()} if ids else {}
        self.villages = {u.code: u.name for u in db.session.execute(
            select(OrgUnit).where(OrgUnit.code.in_(values["village"]))).scalars()} if values["village"] else {}
        self.subjects = {s.code: f"{s.code} {s.name}" for s in db.session.execute(
            select(AccountSubject).where(AccountSubject.code.in_(values["subject"]))).scalars()} \
            if values["subject"] else {}
        self.steps = {str(n): _("第 %(n)s 步 · %(role)s", n=n, role=s.role.label)
                      for n, s in enumerate(steps_of(req), start=1)}

    def value(self, name: str, value: Any) -> str:
        if value is None or value == "":
            return "—"
        text = str(value)
        if name == "requester_id":
            return self.people.get(text, text)
        if name == "village":
            return self.villages.get(text, text)
        if name == "subject":
            return self.subjects.get(text, text)
        if name == "step":
            return self.steps.get(text, _("不在审批中") if text == "0" else text)
        if name == "round":
            return _("第 %(n)s 轮", n=text) if text != "0" else _("未提交")
        if name in MONEY:
            try:
                return "¥" + format_amount(Decimal(text))
            except InvalidOperation:
                return text
        if name == "attachment" and isinstance(value, dict):
            return " · ".join(x for x in (show_value("kind", value.get("kind")), str(value.get("filename") or "")) if x)
        if name == "payment" and isinstance(value, dict):
            return _("流水号 %(ref)s · %(amount)s", ref=value.get("bank_reference", ""),
                     amount=self.value("amount", value.get("amount")))
        return show_value(name, value)


def _shown(names: Names, key: str, t: TimelineEntry) -> Shown:
    old = names.value(key, t.before[key]) if key in t.before else None
    return Shown(field_label(key), old, names.value(key, t.after[key]))


def lines_of(req: PaymentRequest, timeline: list[TimelineEntry]) -> list[TrailLine]:
    names = Names(req, timeline)
    out = []
    for t in timeline:
        keys = list(t.after) + [k for k in t.before if k not in t.after]
        raw = [_shown(names, k, t) if k in t.after else Shown(field_label(k), names.value(k, t.before[k]), "—")
               for k in keys]
        if t.event.action == "create":
            summary = [_shown(names, k, t) for k in CREATE_SUMMARY if k in t.after]
        else:
            summary = [_shown(names, k, t) for k in t.after if k not in NOT_SUMMED][:6]
            if not t.after:  # a removal: what was removed
                summary = [Shown(field_label(k), None, names.value(k, v)) for k, v in t.before.items()][:2]
        out.append(TrailLine(t, summary, raw))
    return out
