"""How the controls shape a request's route as it moves (issue 11 items 3 and 6): a step whose every
holder must recuse (须回避) goes up one level; a committee step needs k of its n members (村监会 two of
three); the agency's 原件已收 before the cashier pays, where the township asks for it.

The request services call these inside their transactions; the rows written here (votes, the originals'
receipt) are recorded by the caller's event or by one event of their own."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from finance.auth.models import User
from finance.controls import queries as q
from finance.controls.models import CommitteeVote
from finance.db import utcnow
from finance.extensions import db
from finance.notices.recipients import ESCALATE_TO, holders
from finance.payment_requests.models import PaymentRequest
from finance.payment_requests.route import current_step_role, role_label
from finance.roles import APPROVER_ROLES, Role


def route_roles(req: PaymentRequest) -> list[Role]:
    return [Role(r) for r in req.route_roles.split(",")] if req.route_roles else []


def recusal_message(user: User, req: PaymentRequest) -> str | None:
    """Why `user` must stand aside on `req` (须回避), or None."""
    matches = q.recusal_matches(user.id, req)
    if not matches:
        return None
    m = matches[0]
    via = _("身份证号") if m.via == "id_number" else _("银行账号")
    return _("须回避：收款人的%(via)s属于您登记的%(relation)s“%(name)s”，此步由其他同级人员或上一级办理。",
             via=via, relation=m.person.relation.label, name=m.person.name)


def move_recused_steps(req: PaymentRequest, *, ahead: bool = False) -> list[dict[str, Any]]:
    """While every holder of the current step's role over the village must recuse, the step goes up one
    level (the role the notices escalate to: a village role or the agency to the 包村领导, the 包村领导 to
    the township head); a step whose higher role comes later in the route anyway is dropped. Other holders
    of the role left: the step stays, and only they may act. With `ahead` (at submission) every step from
    the current one on is looked at, so the route shown is the one that will be walked; each approval looks
    again at the step it hands on to. Returns what moved, for the event."""
    roles = route_roles(req)
    moved: list[dict[str, Any]] = []
    accounts, ids = q.payee_identifiers(req)
    if not accounts and not ids:
        return moved
    at = req.step
    while 1 <= at <= len(roles):
        role = roles[at - 1]
        people = holders([role], req.village)
        bound = {m.person.official_id for m in q.register_matches(accounts, ids, [u.id for u in people])}
        recusing = [u for u in people if u.id in bound]
        if not people or len(recusing) < len(people):
            if not ahead:
                break
            at += 1
            continue
        up = ESCALATE_TO.get(role)
        entry: dict[str, Any] = {"step": at, "role": role.value, "officials": [u.id for u in recusing]}
        moved.append(entry)
        if up is None or up not in APPROVER_ROLES:
            entry["to"] = None  # nobody above can take it: it waits, and the page says why
            at += 1
            continue
        entry["to"] = up.value
        if up in roles[at:]:
            del roles[at - 1]
            entry["merged"] = True
        else:
            roles[at - 1] = up
    req.route_roles = ",".join(r.value for r in roles) if roles else req.route_roles
    return moved


def moved_message(req: PaymentRequest, entry: dict[str, Any]) -> str:
    role = Role(entry["role"])
    if not entry.get("to"):
        return _("第 %(n)s 步%(role)s须回避，且没有上一级可以办理，请区三资办调整人员。", n=entry["step"],
                 role=role_label(req, role))
    return _("第 %(n)s 步%(role)s须回避，改由%(up)s办理。", n=entry["step"], role=role_label(req, role),
             up=role_label(req, Role(entry["to"])))


# --- committee steps (k of n) ----------------------------------------------------------------------------

def committee_quorum(req: PaymentRequest) -> int:
    """How many holders of the current step's role must agree (1: an ordinary step)."""
    role = current_step_role(req)
    if role is None:
        return 1
    rules = q.control_rules(req.village.township)
    return max(1, int(rules.committee.get(role.value, 1)))


def committee_state(req: PaymentRequest) -> dict[str, Any] | None:
    """For the page: a committee step's quorum, its members and who agreed so far (None: not one)."""
    k = committee_quorum(req)
    role = current_step_role(req)
    if k <= 1 or role is None:
        return None
    votes = q.committee_votes(req)
    return {"k": k, "n": len(holders([role], req.village)), "role": role, "votes": votes}


def cast_vote(user: User, req: PaymentRequest, comment: str | None) -> CommitteeVote:
    vote = CommitteeVote(request_id=req.id, round=req.round, step=req.step, user_id=user.id, comment=comment,
                         created_at=utcnow())
    db.session.add(vote)
    return vote


# --- 原件已收 ----------------------------------------------------------------------------------------------

def originals_required(req: PaymentRequest) -> bool:
    return q.control_rules(req.village.township).originals_before_payment


def originals_missing(req: PaymentRequest) -> bool:
    """The township asks for the agency's 原件已收 before payment, and it has not been given."""
    return originals_required(req) and q.originals_receipt(req) is None
