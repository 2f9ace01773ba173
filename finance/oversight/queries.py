"""Reads for the liaison's pages, each limited to the user's scope."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select

import audit
from finance.approval_policy.rules import Rules, parse_rules
from finance.auth.models import RoleAssignment, User
from finance.extensions import db
from finance.orgs.models import OrgUnit
from finance.oversight.models import Question
from finance.payment_requests.models import PaymentRequest
from finance.permissions import ANSWER_ROLES, jurisdiction, villages_in_scope
from finance.roles import Role
from finance.trail import AuditAction, AuditSubject

EVENTS_PER_PAGE = 50
LIAISON = frozenset({Role.LIAISON})


def liaison_villages(user: Any) -> list[OrgUnit]:
    """The villages whose trail this liaison may read."""
    return villages_in_scope(user, LIAISON)


def village_of_chain(user: Any, chain_id: str) -> OrgUnit | None:
    """The village whose chain this is, if it lies in the liaison's scope (else None: a 404)."""
    return next((v for v in liaison_villages(user) if audit.village_chain(v.code) == chain_id), None)


def open_questions_for(user: Any) -> list[Question]:
    """Unanswered questions for the user's to-do list: for township staff and the village's 书记 and 报账员
    (who may answer), those on requests in their township or village; for a liaison, those they asked.
    Earliest deadline first."""
    roles = {a.role for a in getattr(user, "assignments", [])}
    conditions: list[ColumnElement[bool]] = []
    if roles & ANSWER_ROLES:
        conditions.append(PaymentRequest.village_id.in_(jurisdiction(user, ANSWER_ROLES)))
    if Role.LIAISON in roles:
        conditions.append(
            and_(
                Question.asked_by_id == user.id,
                PaymentRequest.village_id.in_(jurisdiction(user, LIAISON)),
            )
        )
    if not conditions:
        return []
    return list(
        db.session.execute(
            select(Question)
            .join(Question.request)
            .where(Question.answered_at.is_(None), or_(*conditions))
            .order_by(Question.deadline, Question.id)
            .limit(200)
        ).scalars()
    )


def questions_on(req: PaymentRequest) -> list[Question]:
    return list(
        db.session.execute(
            select(Question).where(Question.request_id == req.id).order_by(Question.id)
        ).scalars()
    )


@dataclass(frozen=True)
class TimelineEntry:
    event: audit.Event
    before: dict[str, Any]
    after: dict[str, Any]
    attachments: list[str]


def timeline(req: PaymentRequest) -> list[TimelineEntry]:
    """Every event of the request's village chain that concerns it: its own changes, its attachments'
    views, and questions on it, in chain order."""
    chain = audit.village_chain(req.village.code)
    question_ids = [str(q.id) for q in questions_on(req)]
    attachment_ids = [str(a.id) for a in req.attachments]
    subject = or_(
        and_(audit.Event.subject_type == AuditSubject.PAYMENT_REQUEST, audit.Event.subject_id == str(req.id)),
        and_(audit.Event.subject_type == AuditSubject.QUESTION, audit.Event.subject_id.in_(question_ids)),
        and_(audit.Event.subject_type == AuditSubject.ATTACHMENT, audit.Event.subject_id.in_(attachment_ids)),
    )
    events = db.session.execute(
        select(audit.Event).where(audit.Event.chain_id == chain, subject).order_by(audit.Event.seq)
    ).scalars()
    return [
        TimelineEntry(e, _obj(e.before), _obj(e.after), json.loads(e.attachments or "[]")) for e in events
    ]


def _obj(text: str | None) -> dict[str, Any]:
    value = json.loads(text) if text else None
    return value if isinstance(value, dict) else {}


def events_page(chain_id: str, page: int) -> tuple[list[audit.Event], int]:
    """One page of a chain's raw events and the number of pages. Pages are seq ranges (1-50, 51-100 ...)
    read through the (chain, seq) index, so a late page of a long chain costs the same as the first."""
    newest = (
        db.session.execute(
            select(func.max(audit.Event.seq)).where(audit.Event.chain_id == chain_id)
        ).scalar_one_or_none()
        or 0
    )
    pages = max(1, -(-int(newest) // EVENTS_PER_PAGE))
    page = min(max(page, 1), pages)
    low, high = (page - 1) * EVENTS_PER_PAGE, page * EVENTS_PER_PAGE
    events = list(
        db.session.execute(
            select(audit.Event)
            .where(audit.Event.chain_id == chain_id, audit.Event.seq > low, audit.Event.seq <= high)
            .order_by(audit.Event.seq, audit.Event.id)
        ).scalars()
    )
    return events, pages


def page_of_seq(seq: int) -> int:
    return max(1, -(-seq // EVENTS_PER_PAGE))


def checkpoints_of(chain_id: str) -> list[audit.Checkpoint]:
    return list(
        db.session.execute(
            select(audit.Checkpoint)
            .where(audit.Checkpoint.chain_id == chain_id)
            .order_by(audit.Checkpoint.size.desc(), audit.Checkpoint.id.desc())
        ).scalars()
    )


# --- the system chain as a liaison may read it (issue 15 item 5) ------------------------------------------

SYSTEM_ACTIONS = (AuditAction.POLICY_PUBLISH, AuditAction.ROLE_ASSIGN, AuditAction.ROLE_REMOVE,
                  AuditAction.USER_ACTIVATE, AuditAction.USER_DEACTIVATE)
SYSTEM_HISTORY_LIMIT = 300


@dataclass(frozen=True)
class SystemEntry:
    event: audit.Event
    before: dict[str, Any]
    after: dict[str, Any]
    person: Any | None  # the user an account or role event is about
    rules: Rules | None  # the published rules of a policy event


def system_scope(user: Any) -> tuple[set[str], set[str]]:
    """(codes of the units whose role changes the liaison reads: their villages and their townships;
    codes of the townships whose approval policies they read)."""
    villages = liaison_villages(user)
    townships = {v.township.code for v in villages if v.township is not None}
    return {v.code for v in villages} | townships, townships


def system_history(user: Any) -> list[SystemEntry]:
    """The system chain's events about the liaison's townships, newest first: approval policy versions
    published, roles given and taken at their units, and activations of accounts holding such roles.
    (The system chain serves every district; the rest of it is not shown.)"""
    units, townships = system_scope(user)
    if not units:
        return []
    people = set(db.session.execute(
        select(RoleAssignment.user_id).join(OrgUnit, RoleAssignment.org_unit_id == OrgUnit.id)
        .where(OrgUnit.code.in_(units))
    ).scalars())
    events = db.session.execute(
        select(audit.Event).where(audit.Event.chain_id == audit.SYSTEM_CHAIN,
                                  audit.Event.action.in_([a.value for a in SYSTEM_ACTIONS]))
        .order_by(audit.Event.seq.desc())
    ).scalars()
    kept: list[tuple[audit.Event, dict[str, Any], dict[str, Any]]] = []
    for e in events:
        before, after = _obj(e.before), _obj(e.after)
        if e.action == AuditAction.POLICY_PUBLISH:
            mine = after.get("township") in townships
        elif e.action in (AuditAction.ROLE_ASSIGN, AuditAction.ROLE_REMOVE):
            mine = (after.get("org_unit") or before.get("org_unit")) in units
        else:
            mine = e.subject_id.isdigit() and int(e.subject_id) in people
        if mine:
            kept.append((e, before, after))
            if len(kept) >= SYSTEM_HISTORY_LIMIT:
                break
    def user_id(e: audit.Event) -> int | None:
        return int(e.subject_id) if e.subject_type == AuditSubject.USER and e.subject_id.isdigit() else None

    ids = {i for e, _b, _a in kept if (i := user_id(e)) is not None}
    users = {u.id: u for u in db.session.execute(select(User).where(User.id.in_(ids))).scalars()} if ids else {}
    out = []
    for e, before, after in kept:
        rules = parse_rules(after["rules"]) if e.action == AuditAction.POLICY_PUBLISH and after.get("rules") else None
        uid = user_id(e)
        out.append(SystemEntry(e, before, after, users.get(uid) if uid is not None else None, rules))
    return out
