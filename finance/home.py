"""The home page: the user's to-do list (待办), oldest first, and what they can start from here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from finance import keyset
from finance.oversight.queries import open_questions_for
from finance.payment_requests import queries
from finance.payment_requests.models import PaymentRequest
from finance.payment_requests.queries import INBOX_PAGE, inbox_count, inbox_for
from finance.payment_requests.route import todo_line
from finance.permissions import acting_for
from finance.timefmt import waited_days
from finance.workflow import Action, awaited

bp = Blueprint("home", __name__)


@dataclass
class Todo:
    req: PaymentRequest
    days: int
    waits_for: str
    on_behalf: str | None = None  # a delegate's item: "代 王建国 审批"


def on_behalf_line(user: Any, req: PaymentRequest) -> str | None:
    """For a delegate, whom they would act for on this item (finance.delegations), as the to-do says it."""
    move = awaited(req.state)
    acting = acting_for(user, req, move[0]) if move is not None else None
    if acting is None or acting.on_behalf_of is None:
        return None
    name = acting.on_behalf_of.display_name
    return _("代 %(name)s 支付", name=name) if move and move[0] is Action.PAY else _("代 %(name)s 审批", name=name)


@bp.route("/")
@login_required
def index() -> str:
    per_page = request.args.get("per_page", INBOX_PAGE, type=int) or INBOX_PAGE
    per_page = max(1, min(per_page, 100))
    after = keyset.decode(request.args.get("after"))
    page = inbox_for(current_user, after=after, limit=per_page)
    items = [Todo(req, waited_days(req.waiting_since or req.created_at), todo_line(req),
                  on_behalf_line(current_user, req)) for req in page]
    last = page[-1] if len(page) == per_page else None
    next_after = keyset.encode(last.waiting_since, last.id) if last and last.waiting_since else None
    # A short first page is the whole list: no need to count it again.
    total = len(page) if after is None and len(page) < per_page else inbox_count(current_user)
    return render_template("home/index.html", inbox=items, total=total, count_cap=queries.INBOX_COUNT_CAP,
                           next_after=next_after, per_page=per_page,
                           open_questions=open_questions_for(current_user))
