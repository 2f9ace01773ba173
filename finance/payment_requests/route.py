"""A request's route: the policy version it goes by, its approval steps, and whom it waits for now, in
words. Read by the services, permissions, the to-do list, the pages and the printed form alike; the
facts themselves come from the workflow table and the approval policy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from finance.approval_policy.models import RoutingPolicy
from finance.approval_policy.queries import current_policy, rules_of
from finance.approval_policy.rules import Rules, StepRule
from finance.payment_requests.models import PaymentRequest, RequestAction
from finance.roles import APPROVER_ROLES, Role
from finance.workflow import Action, Actor, awaited, has_steps

# The role a non-step actor of the table stands for.
ACTOR_ROLE = {Actor.REQUESTER: Role.ACCOUNTANT, Actor.CASHIER: Role.CASHIER}


def policy_for(req: PaymentRequest) -> RoutingPolicy | None:
    """The policy version the request goes by: the one it was submitted under, or, while it can still
    be (re)submitted without one, the township's current version, which it will take at submission."""
    if req.policy is not None or not req.state.editable:
        return req.policy
    township = req.village.township
    return current_policy(township) if township is not None else None


def rules_for(req: PaymentRequest) -> Rules:
    return rules_of(policy_for(req))


def steps_of(req: PaymentRequest) -> list[StepRule]:
    """The approval steps of this request: the route fixed when it was submitted (its policy's steps for
    the amount it was routed by, the steps the controls added, recusals moved up), or, while it can still
    be (re)submitted, its policy's steps for its own amount."""
    if req.route_roles and not req.state.editable:
        return [StepRule(Role(r)) for r in req.route_roles.split(",")]
    if req.amount is None:
        return []
    return rules_for(req).steps_for(req.amount, req.subject.code if req.subject else None)


def fixed_route(rules: Rules, amount: Decimal, subject_code: str | None, extra: tuple[Role, ...] = ()) -> list[Role]:
    """The step roles a request is submitted with: the policy's steps for `amount` (the request's own, or
    the cumulative sum a band was crossed with), and each role of `extra` (added by the controls whatever
    the amount) not already among them, in the order of APPROVER_ROLES."""
    roles = [s.role for s in rules.steps_for(amount, subject_code)]
    for role in extra:
        if role in roles:
            continue
        rank = APPROVER_ROLES.index(role)
        at = next((i for i, r in enumerate(roles) if r in APPROVER_ROLES and APPROVER_ROLES.index(r) > rank),
                  len(roles))
        roles.insert(at, role)
    return roles


def role_label(req: PaymentRequest, role: Role) -> str:
    """A role's name for this request (its township's head is 镇长, 乡长 or 街道主任)."""
    township = req.village.township if req.village is not None else None
    return role.label_at(township.name if township is not None else None,
                         township.level_name if township is not None else None)


def current_step_role(req: PaymentRequest) -> Role | None:
    """The role that must act at the request's current step, or None when no step is awaited."""
    if not has_steps(req.state):
        return None
    steps = steps_of(req)
    return steps[req.step - 1].role if 1 <= req.step <= len(steps) else None


@dataclass(frozen=True)
class Waiting:
    """The move a request waits for (from the table) and the role that makes it."""

    action: Action
    actor: Actor
    role: Role | None


def waiting(req: PaymentRequest) -> Waiting | None:
    move = awaited(req.state)
    if move is None:
        return None
    action, transition = move
    if transition.actor is Actor.STEP_APPROVER:
        return Waiting(action, transition.actor, current_step_role(req))
    return Waiting(action, transition.actor, ACTOR_ROLE[transition.actor])


def waiting_role(req: PaymentRequest) -> Role | None:
    """Whose move it is now (stored on the row for the to-do list)."""
    now = waiting(req)
    return now.role if now is not None else None


def _words(template: str, req: PaymentRequest) -> str:
    now = waiting(req)
    role = role_label(req, now.role) if now is not None and now.role is not None else "—"
    return template % {"n": req.step, "total": len(steps_of(req)), "role": role}


def status_line(req: PaymentRequest) -> str:
    """Where the request stands, for its page."""
    return _words(req.state.status, req)


def todo_line(req: PaymentRequest) -> str:
    """What the request waits for, for the to-do list."""
    return _words(req.state.todo, req)


def waited_since(req: PaymentRequest) -> datetime | None:
    """Since when the request waits for someone other than its accountant (shown as days waited)."""
    now = waiting(req)
    return req.waiting_since if now is not None and now.actor is not Actor.REQUESTER else None


def last_return(req: PaymentRequest) -> RequestAction | None:
    """The return that sent the request back, while it is back with its accountant."""
    last = req.actions[-1] if req.actions else None
    return last if last is not None and last.action is Action.RETURN and req.state.editable else None


def route_of(req: PaymentRequest) -> list[dict[str, Any]]:
    """The approval steps of the request, each marked by what happened to it in the current round:
    its decision (approve, return, reject), "current" (awaited now) or "waiting"."""
    decided = {a.step: a for a in req.actions if a.round == req.round and a.step is not None}
    current = req.step if has_steps(req.state) else None
    out = []
    for i, step in enumerate(steps_of(req), start=1):
        act = decided.get(i) if req.round else None
        status = act.action.value if act is not None else "current" if current == i else "waiting"
        out.append({"n": i, "role": step.role, "label": role_label(req, step.role), "status": status, "action": act})
    return out
