"""What the request pages answer after a write, shared by the request pages and the cashier's: the
request in scope or a 404, the form's replay key and page version, the 303 to the request with what was
done and what comes next, the 409 page, and `act`, a workflow action through the one write pipeline."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from finance.errors import InputError
from finance.payment_requests.forms import clean_key
from finance.payment_requests.models import PaymentRequest, RequestAction
from finance.payment_requests.queries import get_visible
from finance.payment_requests.route import role_label, waiting
from finance.web import see_other, write
from finance.workflow import Action, Actor


def load_visible(request_id: int) -> PaymentRequest:
    """The request, or 404 when it does not exist or lies outside the user's scope."""
    req = get_visible(current_user, request_id)
    if req is None:
        abort(404)
    return req


def posted_key() -> str | None:
    """The replay key the posted form carried (the services decide what it means)."""
    return clean_key(request.form.get("client_key"))


def posted_version() -> int | None:
    """The request's version the posted page was rendered at (the services refuse a stale one)."""
    version = request.form.get("version", "")
    return int(version) if version.isdigit() else None


def done(req: PaymentRequest, action: Action) -> ResponseReturnValue:
    """Back to the request, saying what was done and whose move it is now."""
    message = action.done
    now = waiting(req)
    if now is not None and now.actor is Actor.STEP_APPROVER and now.role is not None:
        message += _("下一步：%(role)s审批。", role=role_label(req, now.role))
    elif now is not None and now.action is Action.PAY:
        message += _("审批已全部通过，等待出纳支付。")
    return see_other(url_for("payment_requests.detail", request_id=req.id), message)


def conflict_page(req: PaymentRequest) -> Callable[[str], str]:
    """The 409 page about `req`, with a way back to it."""
    return lambda text: render_template("payment_requests/conflict.html", req=req, text=text)


def act(req: PaymentRequest, action: Action, call: Callable[[str | None, int | None], RequestAction | None],
        invalid: Callable[[InputError], Any]) -> ResponseReturnValue:
    """A workflow action from a posted form: `call(client_key, version)` runs the service."""
    return write(lambda: call(posted_key(), posted_version()), done=lambda _row: done(req, action),
                 invalid=invalid, conflict=conflict_page(req))
