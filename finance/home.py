"""The home page: the user's to-do list (待办), oldest first, and what they can start from here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from finance.oversight.queries import open_questions_for
from finance.payment_requests import queries
from finance.payment_requests.models import PaymentRequest
from finance.payment_requests.queries import INBOX_PAGE, inbox_count, inbox_for, steps_of
from finance.permissions import current_step_role
from finance.roles import Role
from finance.timefmt import waited_days
from finance.workflow import State

bp = Blueprint("home", __name__)


@dataclass
class Todo:
    req: PaymentRequest
    days: int
    waits_for: str


def waits_for(req: PaymentRequest) -> str:
    """What the item waits for, in words: the step and role, or the cashier, or the accountant."""
    if req.state == State.PENDING:
        role = current_step_role(req)
        return _(
            "第 %(n)s/%(total)s 步 · 待%(role)s审批",
            n=req.step,
            total=len(steps_of(req)),
            role=role.label if role else "",
        )
    if req.state == State.APPROVED:
        return _("待%(role)s支付", role=Role.CASHIER.label)
    if req.state == State.RETURNED:
        return _("已退回 · 待修改后重新提交")
    if req.state == State.DRAFT:
        return _("草稿 · 待提交")
    return req.state.label


def _after(raw: str | None) -> tuple[datetime, int] | None:
    """The keyset of the next page, "<ISO time>_<id>"; anything malformed means the first page."""
    try:
        stamp, _sep, ident = (raw or "").rpartition("_")
        return datetime.fromisoformat(stamp), int(ident)
    except ValueError:
        return None


@bp.route("/")
@login_required
def index() -> str:
    per_page = request.args.get("per_page", INBOX_PAGE, type=int) or INBOX_PAGE
    per_page = max(1, min(per_page, 100))
    after = _after(request.args.get("after"))
    page = inbox_for(current_user, after=after, limit=per_page)
    items = [Todo(req, waited_days(req.waiting_since or req.created_at), waits_for(req)) for req in page]
    last = page[-1] if len(page) == per_page else None
    next_after = f"{last.waiting_since.isoformat()}_{last.id}" if last and last.waiting_since else None
    # A short first page is the whole list: no need to count it again.
    total = len(page) if after is None and len(page) < per_page else inbox_count(current_user)
    return render_template("home/index.html", inbox=items, total=total, count_cap=queries.INBOX_COUNT_CAP,
                           next_after=next_after, per_page=per_page,
                           open_questions=open_questions_for(current_user))
