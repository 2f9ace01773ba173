"""What the printed documents say, gathered from the rows and the trail; the verification tokens in
their QR codes; and the audit events that printing and exporting leave.

Reads only, except `record_print`, which appends one event and never commits (the view commits)."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy import and_, func, or_, select

import audit
from finance import trail
from finance.auth.models import User
from finance.controls.chain import moved_message
from finance.controls.queries import trail_controls
from finance.documents.rendering import qr_svg_data_uri
from finance.extensions import db
from finance.money import to_capital
from finance.orgs.models import AccountSubject, OrgUnit
from finance.oversight.labels import failure_text
from finance.oversight.verification import run_verify
from finance.params import parse_id
from finance.payment_requests.changes import changes_since_last_round
from finance.payment_requests.models import PaymentRequest, RequestAction
from finance.payment_requests.route import route_of
from finance.payments.models import Payment
from finance.payments.queries import payment_of
from finance.roles import OrgKind, Role, role_label
from finance.security import public_url
from finance.timefmt import CST, today_local
from finance.trail import AuditAction, AuditSubject, action_label
from finance.workflow import DECISION_ACTIONS, Action, State

SUBJECT = AuditSubject.PAYMENT_REQUEST
TOKEN_SALT = "sanzi.documents.approval-form.v1"  # noqa: S105 - a salt, not a secret
HASH_PREFIX = 16  # hex digits of the printed entry hash carried (and signed) in the QR token
# A report of more events than this is split into parts of this many (about 70 pages each), each its own
# PDF: any number of events can be exported, and no single rendering grows without bound.
REPORT_PART_EVENTS = 2000

def village_by_key(key: str) -> OrgUnit | None:
    """A village by id or code, as a form or a public URL names it (scope is the caller's question)."""
    key = key.strip()
    if not key or len(key) > 32:
        return None
    if key.isdigit():
        village_id = parse_id(key)  # bounded: an id past the INTEGER column is no village
        if village_id is None:
            return None
        where = OrgUnit.id == village_id
    else:
        where = OrgUnit.code == key
    return db.session.execute(select(OrgUnit).where(where, OrgUnit.kind == OrgKind.VILLAGE)).scalar_one_or_none()


def short_hash(value: str | None, n: int = 12) -> str:
    return (value or "")[:n]


def acting_role_over(user: User, village: OrgUnit) -> Role | None:
    """The role in which a user reads a village's records, for the audit event of a print. The first in
    the order of Role, so a person holding two roles is recorded the same way every time."""
    roles = user.roles_at(village)
    return next((r for r in Role if r in roles), None)


READ_ACTIONS = (AuditAction.PRINT_FORM, AuditAction.EXPORT_TRAIL_REPORT, AuditAction.PRINT_DISCLOSURE,
                AuditAction.LIAISON_VIEW_ATTACHMENT, AuditAction.LIAISON_EXPORT)


def record_print(user: User, village: OrgUnit, action: AuditAction, subject_type: AuditSubject,
                 subject_id: int | str, reason: str | None = None) -> audit.Event | None:
    """One audit event for a print or export, on the village's chain. A read changes nothing, so the
    event has no before/after; the verifier's replayer therefore ignores it.

    One event per document version per user per day: when this user already printed the same document
    today and nothing has changed on the chain since (no event with a before or after), the earlier
    event stands for this print too and None is returned. A print loop adds nothing to the trail."""
    if _same_print_today(user, village, action, subject_type, str(subject_id)) is not None:
        return None
    return trail.record(village=village, user=user, role=acting_role_over(user, village), action=action,
                        subject_type=subject_type, subject_id=subject_id, reason=reason)


def _same_print_today(user: User, village: OrgUnit, action: str, subject_type: str, subject_id: str
                      ) -> audit.Event | None:
    """This user's print of this document today, if no change was recorded on the chain after it."""
    chain_id = trail.chain_for(village)
    today = datetime.now(CST).date()
    since, _end = day_bounds(today, today)
    earlier = db.session.execute(
        select(audit.Event).where(audit.Event.chain_id == chain_id, audit.Event.subject_id == subject_id,
                                  audit.Event.subject_type == subject_type, audit.Event.action == action,
                                  audit.Event.actor_id == user.id, audit.Event.occurred_at >= since)
        .order_by(audit.Event.seq.desc()).limit(1)
    ).scalar_one_or_none()
    if earlier is None:
        return None
    # A change: an event with a before or after that is not itself a read (a liaison's view or export
    # notes what was read in its after). An approval form changes only with its own request.
    changes = select(audit.Event.id).where(
        audit.Event.chain_id == chain_id, audit.Event.seq > earlier.seq,
        or_(audit.Event.before.is_not(None), audit.Event.after.is_not(None)),
        audit.Event.action.not_in(READ_ACTIONS))
    if subject_type == SUBJECT:
        changes = changes.where(audit.Event.subject_type == SUBJECT, audit.Event.subject_id == subject_id)
    return None if db.session.execute(changes.limit(1)).first() is not None else earlier


# --- the chain position of a request -------------------------------------------------------------


def _changes_of(req: PaymentRequest) -> Any:
    """Events of the request that changed it (reads such as prints carry neither before nor after)."""
    return select(audit.Event).where(
        audit.Event.chain_id == trail.chain_for(req.village),
        audit.Event.subject_type == SUBJECT,
        audit.Event.subject_id == str(req.id),
        or_(audit.Event.before.is_not(None), audit.Event.after.is_not(None)),
    )


def newest_change(req: PaymentRequest) -> audit.Event | None:
    return db.session.execute(_changes_of(req).order_by(audit.Event.seq.desc()).limit(1)).scalar_one_or_none()


# --- the verification token -----------------------------------------------------------------------


@dataclass(frozen=True)
class PrintedState:
    """What a printed form vouches for: the request, its newest change event and the state then."""

    request_id: int
    seq: int
    hash_prefix: str
    state: str


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=TOKEN_SALT)


def make_token(req: PaymentRequest, event: audit.Event | None) -> str:
    """A signed token: anyone can read the numbers inside (they are printed on the paper anyway), no one
    can make one for another request or position without the app's secret key."""
    seq = event.seq if event is not None else 0
    prefix = event.entry_hash[:HASH_PREFIX] if event is not None else ""
    return str(_serializer().dumps([req.id, seq, prefix, req.state.value]))


def read_token(token: str) -> PrintedState | None:
    if not token or len(token) > 300:
        return None
    try:
        data = _serializer().loads(token)
    except BadData:
        return None
    if not (isinstance(data, list) and len(data) == 4 and isinstance(data[0], int)
            and isinstance(data[1], int) and isinstance(data[2], str) and isinstance(data[3], str)):
        return None
    return PrintedState(data[0], data[1], data[2], data[3])


def verification_url(token: str) -> str:
    """The URL in the QR code, on PUBLIC_BASE_URL (e.g. https://sanzi.example.gov.cn; required in
    production, so it never follows a request's Host header)."""
    return public_url("documents.verify", token=token)


@dataclass
class LaterEvent:
    action: str
    at: datetime
    role: str


@dataclass
class Verification:
    req: PaymentRequest
    printed: PrintedState
    live: bool
    intact: bool  # the event at the printed position still carries the printed hash
    headline: str
    later: list[LaterEvent] = field(default_factory=list)

    @property
    def printed_state_label(self) -> str:
        try:
            return State(self.printed.state).label
        except ValueError:
            return self.printed.state


def verify_print(token: str) -> Verification | None:
    """Compare a printed form with the live record; None (a 404) for a token that is not ours."""
    printed = read_token(token)
    if printed is None:
        return None
    req = db.session.get(PaymentRequest, printed.request_id)
    if req is None:
        return None
    at_print = None
    if printed.seq:
        at_print = db.session.execute(
            select(audit.Event).where(audit.Event.chain_id == trail.chain_for(req.village),
                                      audit.Event.seq == printed.seq)
        ).scalar_one_or_none()
    intact = (printed.seq == 0 and not printed.hash_prefix) or (
        at_print is not None and at_print.entry_hash.startswith(printed.hash_prefix)
        and at_print.subject_type == SUBJECT and at_print.subject_id == str(req.id))
    later_rows = list(db.session.execute(
        _changes_of(req).where(audit.Event.seq > printed.seq).order_by(audit.Event.seq)
    ).scalars())
    later = [LaterEvent(action_label(e.action), e.occurred_at, role_label(e.actor_role)) for e in later_rows]
    live = intact and not later and req.state.value == printed.state
    return Verification(req, printed, live, intact, _headline(printed, req, live, intact, later_rows), later)


def _headline(printed: PrintedState, req: PaymentRequest, live: bool, intact: bool,
              later: list[audit.Event]) -> str:
    if not intact:
        return _("打印时的记录与系统中同一位置的记录不一致，请联系乡镇三资代理中心或廉情联络员核查。")
    if live:
        return _("与打印时一致：打印后该申请没有任何变化。")
    actions = {e.action for e in later}
    if not _state_of(printed.state, req.state).paid and req.state.paid:
        return _("打印后已支付，当前状态：%(state)s。", state=req.state.label)
    if req.state.value != printed.state:
        return _("打印后状态已变化：打印时为“%(old)s”，现在为“%(new)s”。",
                 old=_state_label(printed.state), new=req.state.label)
    if Action.APPROVE.value in actions:
        return _("打印后又有审批意见，当前状态：%(state)s。", state=req.state.label)
    return _("打印后记录有变化，当前状态：%(state)s。", state=req.state.label)


def _state_label(value: str) -> str:
    try:
        return State(value).label
    except ValueError:
        return value


def _state_of(value: str, default: State) -> State:
    try:
        return State(value)
    except ValueError:
        return default


# --- the approval form ----------------------------------------------------------------------------


@dataclass
class StepRow:
    step: int
    role: str
    name: str = ""
    action: str = ""
    at: datetime | None = None
    comment: str = ""


@dataclass
class Round:
    number: int
    submitted_by: str = ""
    submitted_at: datetime | None = None
    steps: list[StepRow] = field(default_factory=list)
    outcome: str = ""  # 退回修改 / 驳回 / 撤回, with who and why
    outcome_at: datetime | None = None
    outcome_by: str = ""
    outcome_role: str = ""
    outcome_comment: str = ""


def _who(act: RequestAction) -> str:
    """Who took the action; a delegate with the person they acted for (finance.delegations)."""
    if act.on_behalf_of_id is None or act.on_behalf_of is None:
        return act.actor.display_name
    return _("%(b)s（代 %(a)s）", b=act.actor.display_name, a=act.on_behalf_of.display_name)


def _rounds(req: PaymentRequest) -> list[Round]:
    rounds: OrderedDict[int, Round] = OrderedDict()
    for act in req.actions:
        if act.action in (Action.PAY, Action.RECONCILE):
            continue
        rnd = rounds.setdefault(act.round, Round(act.round))
        if act.action == Action.SUBMIT:
            rnd.submitted_by, rnd.submitted_at = act.actor.display_name, act.created_at
        elif act.action in DECISION_ACTIONS:
            rnd.steps.append(StepRow(act.step or 0, role_label(act.actor_role), _who(act),
                                     act.action.label, act.created_at, act.comment or ""))
        if act.action in (Action.RETURN, Action.REJECT, Action.WITHDRAW):
            rnd.outcome, rnd.outcome_at = act.action.label, act.created_at
            rnd.outcome_by, rnd.outcome_role = _who(act), role_label(act.actor_role)
            rnd.outcome_comment = act.comment or ""
    # The current round lists its steps still to come as blank rows, as a paper form has empty boxes.
    route = route_of(req)
    if rounds and any(s["status"] == "current" for s in route):
        current = rounds[next(reversed(rounds))]
        done = {s.step for s in current.steps}
        for step in route:
            if step["n"] not in done:
                current.steps.append(StepRow(step["n"], step["label"], action=_("待审批")))
        current.steps.sort(key=lambda s: s.step)
    return list(rounds.values())


FORM_CONTROL_NOTES = 6  # the controls' notes the one-page form has room for; the rest: "N more"


def approval_form(req: PaymentRequest, printed_by: User) -> dict[str, Any]:
    """Everything the 支付审批单 shows, with the token for its QR code."""
    event = newest_change(req)
    token = make_token(req, event)
    url = verification_url(token)
    rounds = _rounds(req)
    pay = payment_of(req)
    pay_action = next((a for a in req.actions if a.action == Action.PAY), None)
    said = trail_controls(req)  # what the controls said at submission and to each approver (issue 11)
    notes = [moved_message(req, m) for m in said.recusals] + [str(f.get("message", "")) for f in said.findings]
    return {
        "control_notes": notes[:FORM_CONTROL_NOTES],
        "control_notes_more": max(0, len(notes) - FORM_CONTROL_NOTES),
        "req": req,
        "village": req.village,
        "township": req.village.township,
        "capital": to_capital(req.amount, prefix=True) if req.amount is not None else "",
        "attachments": [{"label": a.kind.label, "filename": a.filename,
                         "sha": short_hash(a.sha256, 16), "size": a.size} for a in req.attachments],
        "current_round": rounds[-1] if rounds else None,
        "changes": changes_since_last_round(req),
        "earlier_rounds": rounds[:-1],
        "payment": pay,
        "paid_at": pay_action.created_at if pay_action else None,
        "event": event,
        "token": token,
        "verify_url": url,
        "qr": qr_svg_data_uri(url),
        "printed_by": printed_by,
        "printed_at": datetime.now(UTC),
    }


# --- the trail report -----------------------------------------------------------------------------


def day_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, end+1 00:00) in China time, as UTC."""
    lo = datetime(start.year, start.month, start.day, tzinfo=CST)
    hi = datetime(end.year, end.month, end.day, tzinfo=CST) + timedelta(days=1)
    return lo.astimezone(UTC), hi.astimezone(UTC)


MAX_REPORT_DAYS = 3660


def report_range_errors(start: date, end: date) -> dict[str, str]:
    """What is wrong with a report's range (field -> message; empty when it may be printed)."""
    if start > end:
        return {"end": _("结束日期不能早于开始日期。")}
    if (end - start).days > MAX_REPORT_DAYS:
        return {"end": _("日期范围不能超过十年。")}
    return {}


class ReportInParts(Exception):
    """The range holds more events than one part: the caller offers the parts."""

    def __init__(self, total: int, parts: int) -> None:
        super().__init__(total, parts)
        self.total, self.parts = total, parts


def report_parts(total: int) -> int:
    return max(1, -(-total // REPORT_PART_EVENTS))


@dataclass
class ReportRow:
    seq: int
    at: datetime
    actor: str
    role: str
    action: str
    subject: str
    reason: str
    hash: str


def trail_report(village: OrgUnit, start: date, end: date, printed_by: User, part: int | None = None
                 ) -> dict[str, Any]:
    """The events of a village's chain in [start, end] (China dates), with the verification of the
    whole chain and its newest checkpoint. A range of more than REPORT_PART_EVENTS events comes in
    parts (seq order): without `part` it raises ReportInParts; `part` (from 1) picks one."""
    chain_id = trail.chain_for(village)
    lo, hi = day_bounds(start, end)
    in_range = (audit.Event.chain_id == chain_id, audit.Event.occurred_at >= lo, audit.Event.occurred_at < hi)
    total = db.session.execute(select(func.count(audit.Event.id)).where(*in_range)).scalar_one()
    parts = report_parts(total)
    if part is None and parts > 1:
        raise ReportInParts(total, parts)
    part = min(max(part or 1, 1), parts)
    events = db.session.execute(
        select(audit.Event).where(*in_range).order_by(audit.Event.seq)
        .offset((part - 1) * REPORT_PART_EVENTS).limit(REPORT_PART_EVENTS)
    ).scalars().all()
    request_ids = {int(e.subject_id) for e in events if e.subject_type == SUBJECT and e.subject_id.isdigit()}
    numbers: dict[int, str | None] = dict(db.session.execute(
        select(PaymentRequest.id, PaymentRequest.number).where(PaymentRequest.id.in_(request_ids))
    ).all()) if request_ids else {}
    rows = [ReportRow(e.seq, e.occurred_at, e.actor_name or _("系统"), role_label(e.actor_role),
                      action_label(e.action), _subject(e, numbers), e.reason or "",
                      short_hash(e.entry_hash, 16)) for e in events]
    first, last = (events[0], events[-1]) if events else (None, None)
    report = run_verify(chain=chain_id)
    chain_report = report.chains.get(chain_id)
    checkpoint = db.session.execute(
        select(audit.Checkpoint).where(audit.Checkpoint.chain_id == chain_id)
        .order_by(audit.Checkpoint.size.desc(), audit.Checkpoint.id.desc()).limit(1)
    ).scalar_one_or_none()
    return {
        "village": village,
        "township": village.township,
        "chain_id": chain_id,
        "start": start,
        "end": end,
        "part": part,
        "parts": parts,
        "total": total,
        "rows": rows,
        "first": first,
        "last": last,
        "verified": report.ok,
        "failures": [f"{f.chain_id} #{f.seq}: {failure_text(f)}" for f in report.all_failures()][:50],
        "chain_size": chain_report.size if chain_report else 0,
        "chain_head": chain_report.head_hash if chain_report else "",
        "checkpoints_checked": chain_report.checkpoints_checked if chain_report else 0,
        "checkpoint": checkpoint,
        "printed_by": printed_by,
        "printed_role": role_label(acting_role_over(printed_by, village)),
        "printed_at": datetime.now(UTC),
    }


def _subject(event: audit.Event, numbers: dict[int, str | None]) -> str:
    label = trail.subject_label(event.subject_type)
    if event.subject_type == SUBJECT and event.subject_id.isdigit():
        number = numbers.get(int(event.subject_id))
        return number or f"{label} #{event.subject_id}"
    return f"{label} {event.subject_id}"


# --- the monthly disclosure -----------------------------------------------------------------------


def disclosure_month_ok(year: int, month: int) -> bool:
    """A month a disclosure sheet may be printed for: from 2000 to the current month."""
    today = today_local()
    return 1 <= month <= 12 and 2000 <= year <= today.year and (year, month) <= (today.year, today.month)


def month_bounds(year: int, month: int) -> tuple[date, date]:
    first = date(year, month, 1)
    following = date(year + (month == 12), month % 12 + 1, 1)
    return first, following


@dataclass
class DisclosureLine:
    value_date: date
    number: str
    payee: str
    purpose: str
    subject: str
    amount: Decimal
    imported: bool = False  # history from an earlier system (EXCHANGE.md §4), marked 历史导入


def disclosure(village: OrgUnit, year: int, month: int) -> dict[str, Any]:
    """The month's sheet. Once the agency has closed the month (finance.bank, 扎账): 月初余额, every
    income and spending line as the bank statement shows them, and 月末余额, which balance. Before: the
    month's payments (by the bank's value date) and a sentence that the month is not closed yet, instead
    of balances that could still change."""
    from finance.bank.queries import limits_for, month_sheet

    sheet = month_sheet(village, f"{year:04d}-{month:02d}")
    if sheet is not None:
        spending = [DisclosureLine(x.value_date, x.number, x.name, x.purpose, x.subject, x.amount)
                    for x in sheet.spending]
        income = [DisclosureLine(x.value_date, x.number, x.name, x.purpose, x.subject, x.amount)
                  for x in sheet.income]
        return _disclosure_context(village, year, month, spending, income=income, sheet=sheet,
                                   mask=limits_for(village).mask_public_names)
    first, following = month_bounds(year, month)
    rows = db.session.execute(
        select(Payment, PaymentRequest, AccountSubject)
        .join(PaymentRequest, Payment.request_id == PaymentRequest.id)
        .outerjoin(AccountSubject, PaymentRequest.subject_id == AccountSubject.id)
        .where(and_(PaymentRequest.village_id == village.id, Payment.value_date >= first,
                    Payment.value_date < following))
        .order_by(Payment.value_date, Payment.id)
    ).all()
    lines = [DisclosureLine(p.value_date, r.number or "", p.payee_name, r.purpose,
                            f"{s.code} {s.name}" if s else "", p.amount, r.imported) for p, r, s in rows]
    return _disclosure_context(village, year, month, lines, mask=limits_for(village).mask_public_names)


def _disclosure_context(village: OrgUnit, year: int, month: int, lines: list[DisclosureLine], *,
                        income: list[DisclosureLine] | None = None, sheet: Any = None, mask: bool = True
                        ) -> dict[str, Any]:
    totals: dict[str, Decimal] = {}
    for line in lines:
        totals[line.subject] = totals.get(line.subject, Decimal("0.00")) + line.amount
    total = sum((line.amount for line in lines), Decimal("0.00"))
    public_url = public_disclosure_url(village, year, month)
    return {
        "village": village,
        "township": village.township,
        "year": year,
        "month": month,
        "lines": lines,
        "totals": sorted(totals.items()),
        "total": total,
        "total_capital": to_capital(total, prefix=True),
        "public_url": public_url,
        "qr": qr_svg_data_uri(public_url),
        "generated_at": datetime.now(UTC),
        # the bank side: set once the month is closed (扎账), None before
        "closed": sheet is not None,
        "income": income or [],
        "income_total": sheet.income_total if sheet is not None else None,
        "opening": sheet.opening if sheet is not None else None,
        "closing": sheet.closing if sheet is not None else None,
        "mask_names": mask,
    }


def public_disclosure_url(village: OrgUnit, year: int, month: int) -> str:
    return public_url("documents.public_disclosure", code=village.code, period=f"{year:04d}-{month:02d}")
