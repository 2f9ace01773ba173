"""The lifecycle of a payment request as a table: (state, action) -> transition.

Pure Python, no database: the services ask `decide()` and act on its answer; the tests walk every cell.

    draft --submit--> pending(step 1..n) --approve(last step)--> approved --pay--> paid
    paid --reconcile--> reconciled
    pending --return(reason)--> returned --submit(resubmit)--> pending(step 1)
    pending(no step acted yet) --withdraw--> withdrawn
    pending --reject(reason)--> rejected
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from flask_babel import lazy_gettext as _l


class State(StrEnum):
    DRAFT = "draft"
    PENDING = "pending"
    RETURNED = "returned"
    WITHDRAWN = "withdrawn"
    REJECTED = "rejected"
    APPROVED = "approved"
    PAID = "paid"
    RECONCILED = "reconciled"

    @property
    def label(self) -> str:
        return str(STATE_LABELS[self])

    @property
    def terminal(self) -> bool:
        return self in (State.WITHDRAWN, State.REJECTED, State.RECONCILED)


class Action(StrEnum):
    CREATE = "create"  # not a transition of the table: a new draft
    EDIT = "edit"
    SUBMIT = "submit"
    APPROVE = "approve"
    RETURN = "return"
    REJECT = "reject"
    WITHDRAW = "withdraw"
    PAY = "pay"
    RECONCILE = "reconcile"

    @property
    def label(self) -> str:
        return str(ACTION_LABELS[self])


class Actor(StrEnum):
    """Who may take a transition, relative to the request."""

    REQUESTER = "requester"  # an accountant of the request's village
    STEP_APPROVER = "step_approver"  # holds the current step's role over the village
    CASHIER = "cashier"  # a cashier over the village


STATE_LABELS = {
    State.DRAFT: _l("草稿"),
    State.PENDING: _l("审批中"),
    State.RETURNED: _l("已退回"),
    State.WITHDRAWN: _l("已撤回"),
    State.REJECTED: _l("已驳回"),
    State.APPROVED: _l("待支付"),
    State.PAID: _l("已支付"),
    State.RECONCILED: _l("已对账"),
}

ACTION_LABELS = {
    Action.CREATE: _l("创建草稿"),
    Action.EDIT: _l("修改"),
    Action.SUBMIT: _l("提交"),
    Action.APPROVE: _l("同意"),
    Action.RETURN: _l("退回修改"),
    Action.REJECT: _l("驳回"),
    Action.WITHDRAW: _l("撤回"),
    Action.PAY: _l("支付"),
    Action.RECONCILE: _l("对账"),
}


@dataclass(frozen=True)
class Transition:
    target: State
    actor: Actor
    reason_required: bool = False
    # approve: the state when the step acted on is the last one
    last_step_target: State | None = None
    # withdraw: only while no approver has acted in this round
    only_before_first_decision: bool = False


TABLE: dict[tuple[State, Action], Transition] = {
    (State.DRAFT, Action.EDIT): Transition(State.DRAFT, Actor.REQUESTER),
    (State.DRAFT, Action.SUBMIT): Transition(State.PENDING, Actor.REQUESTER),
    (State.RETURNED, Action.EDIT): Transition(State.RETURNED, Actor.REQUESTER),
    (State.RETURNED, Action.SUBMIT): Transition(State.PENDING, Actor.REQUESTER),
    (State.RETURNED, Action.WITHDRAW): Transition(State.WITHDRAWN, Actor.REQUESTER),
    (State.PENDING, Action.APPROVE): Transition(
        State.PENDING, Actor.STEP_APPROVER, last_step_target=State.APPROVED
    ),
    (State.PENDING, Action.RETURN): Transition(State.RETURNED, Actor.STEP_APPROVER, reason_required=True),
    (State.PENDING, Action.REJECT): Transition(State.REJECTED, Actor.STEP_APPROVER, reason_required=True),
    (State.PENDING, Action.WITHDRAW): Transition(
        State.WITHDRAWN, Actor.REQUESTER, only_before_first_decision=True
    ),
    (State.APPROVED, Action.PAY): Transition(State.PAID, Actor.CASHIER),
    (State.PAID, Action.RECONCILE): Transition(State.RECONCILED, Actor.CASHIER),
}


class NotAllowed(Exception):
    """The action is not open in this state (or not yet, or no longer)."""


@dataclass(frozen=True)
class Facts:
    """What the table needs to know about a request beyond its state."""

    state: State
    step: int = 0
    steps_total: int = 0
    decided_this_round: bool = False


def transition_for(state: State, action: Action) -> Transition:
    try:
        return TABLE[(state, action)]
    except KeyError:
        raise NotAllowed(f"{action} is not allowed in state {state}") from None


def decide(facts: Facts, action: Action) -> tuple[Transition, State]:
    """The transition `action` takes from `facts.state`, and the state it leads to; NotAllowed if none."""
    transition = transition_for(facts.state, action)
    if transition.only_before_first_decision and facts.decided_this_round:
        raise NotAllowed("an approver has already acted; it can no longer be withdrawn")
    target = transition.target
    if transition.last_step_target is not None and facts.step >= facts.steps_total:
        target = transition.last_step_target
    return transition, target


def actions_open(facts: Facts) -> list[Action]:
    """Actions the table allows in this state (who may take them is the permission layer's question)."""
    out = []
    for (state, action), transition in TABLE.items():
        if state != facts.state:
            continue
        if transition.only_before_first_decision and facts.decided_this_round:
            continue
        out.append(action)
    return out
