"""The lifecycle of a payment request as a table: (state, action) -> transition.

Pure Python, no database. The table is the one home of these rules: which actions a state opens, who
may take each (the actor, and who is barred whatever their role), the state it leads to (including
"approve at the last step -> approved" and "submit with no applicable step -> approved"), whether a
reason is required, and which move a request waits for in each state. Everything else (the services,
`permissions.acting_role`, the to-do list in Python and SQL, the pages and the PDF) reads it.

    draft --submit--> pending(step 1..n) --approve(last step)--> approved --pay--> paid
    draft --submit(no step applies)--> approved
    draft --discard--> discarded
    paid --reconcile--> reconciled
    pending --return(reason)--> returned --submit(resubmit)--> pending(step 1)
    pending(no step acted yet) --withdraw--> withdrawn
    pending --reject(reason)--> rejected
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache

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
    DISCARDED = "discarded"  # a draft thrown away by its accountant (issue 16 item 7); its number stays used

    @property
    def label(self) -> str:
        return str(_STATE_LABELS[self])

    @property
    def status(self) -> str:
        """The detail page's sentence on where the request stands (may take n, total, role)."""
        return str(_STATUS[self])

    @property
    def todo(self) -> str:
        """The to-do list's line on what the request waits for (may take n, total, role)."""
        return str(_TODO.get(self, _STATE_LABELS[self]))

    @property
    def terminal(self) -> bool:
        """No action leads out of it."""
        return not any(state is self for state, _action in TABLE)

    @property
    def editable(self) -> bool:
        """Its fields and attachments may be changed (the table opens EDIT in it)."""
        return (self, Action.EDIT) in TABLE

    @property
    def submitted(self) -> bool:
        """It has been submitted at least once (it lies past a SUBMIT transition)."""
        return self in _after(Action.SUBMIT)

    @property
    def paid(self) -> bool:
        """The money has gone out (it lies past the PAY transition)."""
        return self in _after(Action.PAY)

    @property
    def approval_to_come(self) -> bool:
        """A step approver's decision can still come from here (the route is not behind it)."""
        return self in _leading_to(Actor.STEP_APPROVER)


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
    DISCARD = "discard"

    @property
    def label(self) -> str:
        return str(_ACTION_LABELS[self])

    @property
    def done(self) -> str:
        """What the user is told once it is done."""
        return str(_DONE.get(self, _ACTION_LABELS[self]))


class Actor(StrEnum):
    """Who may take a transition, relative to the request (permissions resolves it to a user's role)."""

    REQUESTER = "requester"  # an accountant of the request's village
    STEP_APPROVER = "step_approver"  # holds the current step's role over the village
    CASHIER = "cashier"  # a cashier over the village
    RECONCILER = "reconciler"  # the agency reviewer (审核会计) confirming a bank statement match


class Bar(StrEnum):
    """Who may not take a transition whatever roles they hold (the separation of duties)."""

    RAISED = "raised"  # raised it: the requester, or an accountant who submitted or withdrew it
    DECIDED = "decided"  # approved, returned or rejected it, at any step of any round
    DECIDED_ELSEWHERE = "decided_elsewhere"  # decided it at a step other than the current one
    PAID = "paid"  # recorded its payment (钱账分管: who pays does not reconcile)


_STATE_LABELS = {
    State.DRAFT: _l("草稿"),
    State.PENDING: _l("审批中"),
    State.RETURNED: _l("已退回"),
    State.WITHDRAWN: _l("已撤回"),
    State.REJECTED: _l("已驳回"),
    State.APPROVED: _l("待支付"),
    State.PAID: _l("已支付"),
    State.RECONCILED: _l("已对账"),
    State.DISCARDED: _l("已作废"),
}

_STATUS = {
    State.DRAFT: _l("草稿，尚未提交"),
    State.PENDING: _l("等待第 %(n)s/%(total)s 步：%(role)s审批"),
    State.RETURNED: _l("已退回，等待报账员修改后重新提交"),
    State.WITHDRAWN: _l("已撤回，流程结束"),
    State.REJECTED: _l("已驳回，流程结束"),
    State.APPROVED: _l("审批已通过，等待代理中心出纳支付"),
    State.PAID: _l("已支付，等待银行流水与审核会计确认对账"),
    State.RECONCILED: _l("已支付并对账，流程结束"),
    State.DISCARDED: _l("草稿已作废，流程结束"),
}

_TODO = {
    State.DRAFT: _l("填写完整后提交审批"),
    State.PENDING: _l("第 %(n)s/%(total)s 步 · 待%(role)s审批"),
    State.RETURNED: _l("请按退回理由修改后重新提交"),
    State.APPROVED: _l("待%(role)s支付"),
}

_ACTION_LABELS = {
    Action.CREATE: _l("创建草稿"),
    Action.EDIT: _l("修改"),
    Action.SUBMIT: _l("提交"),
    Action.APPROVE: _l("同意"),
    Action.RETURN: _l("退回修改"),
    Action.REJECT: _l("驳回"),
    Action.WITHDRAW: _l("撤回"),
    Action.PAY: _l("支付"),
    Action.RECONCILE: _l("对账"),
    Action.DISCARD: _l("作废草稿"),
}

_DONE = {
    Action.SUBMIT: _l("已提交审批。"),
    Action.APPROVE: _l("已同意。"),
    Action.RETURN: _l("已退回报账员修改。"),
    Action.REJECT: _l("已驳回，该申请已终止。"),
    Action.WITHDRAW: _l("已撤回。"),
    Action.PAY: _l("支付已登记，申请已完成支付。"),
    Action.RECONCILE: _l("已对账确认。"),
    Action.DISCARD: _l("草稿已作废，已从待办中移除。"),
}


@dataclass(frozen=True)
class Transition:
    target: State
    actor: Actor
    barred: frozenset[Bar] = field(default=frozenset())
    reason_required: bool = False
    # approve: the state when the step acted on is the last one
    last_step_target: State | None = None
    # submit: the state when the request's policy has no step that applies to it
    no_step_target: State | None = None
    # withdraw: only while no approver has acted in this round
    only_before_first_decision: bool = False
    # the move the request waits for in this state: it names whose turn it is (the to-do list)
    awaited: bool = False


INITIAL = State.DRAFT  # a new request starts here (a draft, not a transition of the table)
REQUESTER_BARS = frozenset({Bar.DECIDED})  # an accountant who decided on it (as village lead, say)
APPROVER_BARS = frozenset({Bar.RAISED, Bar.DECIDED_ELSEWHERE})

TABLE: dict[tuple[State, Action], Transition] = {
    (State.DRAFT, Action.EDIT): Transition(State.DRAFT, Actor.REQUESTER, REQUESTER_BARS),
    (State.DRAFT, Action.SUBMIT): Transition(State.PENDING, Actor.REQUESTER, REQUESTER_BARS,
                                             no_step_target=State.APPROVED, awaited=True),
    (State.DRAFT, Action.DISCARD): Transition(State.DISCARDED, Actor.REQUESTER, REQUESTER_BARS),
    (State.RETURNED, Action.EDIT): Transition(State.RETURNED, Actor.REQUESTER, REQUESTER_BARS),
    (State.RETURNED, Action.SUBMIT): Transition(State.PENDING, Actor.REQUESTER, REQUESTER_BARS,
                                                no_step_target=State.APPROVED, awaited=True),
    (State.RETURNED, Action.WITHDRAW): Transition(State.WITHDRAWN, Actor.REQUESTER, REQUESTER_BARS),
    (State.PENDING, Action.APPROVE): Transition(State.PENDING, Actor.STEP_APPROVER, APPROVER_BARS,
                                                last_step_target=State.APPROVED, awaited=True),
    (State.PENDING, Action.RETURN): Transition(State.RETURNED, Actor.STEP_APPROVER, APPROVER_BARS,
                                               reason_required=True),
    (State.PENDING, Action.REJECT): Transition(State.REJECTED, Actor.STEP_APPROVER, APPROVER_BARS,
                                               reason_required=True),
    (State.PENDING, Action.WITHDRAW): Transition(State.WITHDRAWN, Actor.REQUESTER, REQUESTER_BARS,
                                                 only_before_first_decision=True),
    # the cashier pays nothing they raised or decided; reconciling is confirming a bank statement line's
    # match (finance.bank), by the agency reviewer, never the one who paid it
    (State.APPROVED, Action.PAY): Transition(State.PAID, Actor.CASHIER, frozenset({Bar.RAISED, Bar.DECIDED}),
                                             awaited=True),
    (State.PAID, Action.RECONCILE): Transition(State.RECONCILED, Actor.RECONCILER,
                                               frozenset({Bar.RAISED, Bar.PAID})),
}

# The recorded actions by kind of actor, read off the table: a step approver's are decisions, a
# requester's raise the request (edits are not recorded as actions).
DECISION_ACTIONS = tuple(dict.fromkeys(a for (_s, a), t in TABLE.items() if t.actor is Actor.STEP_APPROVER))
RAISING_ACTIONS = tuple(dict.fromkeys(a for (_s, a), t in TABLE.items()
                                      if t.actor is Actor.REQUESTER and a is not Action.EDIT))


class NotAllowed(Exception):
    """The action is not open in this state (or not yet, or no longer)."""

    def __init__(self, state: State, action: Action, why: str = "") -> None:
        super().__init__(why or f"{action} is not allowed in state {state}")
        self.state = state
        self.action = action


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
        raise NotAllowed(state, action) from None


def decide(facts: Facts, action: Action) -> tuple[Transition, State]:
    """The transition `action` takes from `facts.state`, and the state it leads to; NotAllowed if none."""
    transition = transition_for(facts.state, action)
    if transition.only_before_first_decision and facts.decided_this_round:
        raise NotAllowed(facts.state, action, "an approver has already acted; it can no longer be withdrawn")
    target = transition.target
    if transition.last_step_target is not None and facts.step >= facts.steps_total:
        target = transition.last_step_target
    if transition.no_step_target is not None and facts.steps_total == 0:
        target = transition.no_step_target
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


def awaited(state: State) -> tuple[Action, Transition] | None:
    """The move a request in `state` waits for, or None when it waits for no one."""
    return next(((a, t) for (s, a), t in TABLE.items() if s is state and t.awaited), None)


def has_steps(state: State) -> bool:
    """Whether the request's step counter means something in `state` (a step approver is awaited)."""
    move = awaited(state)
    return move is not None and move[1].actor is Actor.STEP_APPROVER


def _targets(transition: Transition) -> set[State]:
    return {s for s in (transition.target, transition.last_step_target, transition.no_step_target) if s}


@cache
def _after(action: Action) -> frozenset[State]:
    """Every state reachable once `action` has been taken (its targets included)."""
    seen: set[State] = set()
    todo = [s for (_state, a), t in TABLE.items() if a is action for s in _targets(t)]
    while todo:
        state = todo.pop()
        if state in seen:
            continue
        seen.add(state)
        todo += [s for (st, _a), t in TABLE.items() if st is state for s in _targets(t)]
    return frozenset(seen)


@cache
def _leading_to(actor: Actor) -> frozenset[State]:
    """Every state from which a transition taken by `actor` can still be reached."""
    found = {s for (s, _a), t in TABLE.items() if t.actor is actor}
    grew = True
    while grew:
        before = len(found)
        found |= {s for (s, _a), t in TABLE.items() if _targets(t) & found}
        grew = len(found) != before
    return frozenset(found)
