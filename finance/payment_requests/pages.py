"""What the request pages answer after a write, shared by the request pages and the cashier's: the
request in scope or a 404, the form's replay key and page version, the 303 to the request with what was
done and what comes next, the 409 page, and `act`, a workflow action through the one write pipeline."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NoReturn

from flask import abort, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from finance.errors import InputError
from finance.payment_requests.changes import conflict_story
from finance.payment_requests.forms import clean_key
from finance.payment_requests.models import PaymentRequest, RequestAction
from finance.payment_requests.queries import get_visible
from finance.payment_requests.route import role_label, waiting
from finance.permissions import holds_role_for, roles_for_action
from finance.roles import Role
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


def seen_now() -> str:
    """When a page with forms is shown (UTC, ISO): its forms carry it back as `seen`, so a 409 can list
    what changed since (issue 16 item 10)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def posted_seen() -> datetime | None:
    """The `seen` time the posted page carried, if it is one."""
    text = (request.form.get("seen") or request.args.get("seen") or "")[:40]
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


def refuse_for_role(req: PaymentRequest, action: Action) -> NoReturn:
    """403 for a user who may not take `action` on `req`: the reason is their role when they hold none
    that takes it (a liaison opening an edit address, issue 16 item 13), else the plain 403."""
    if holds_role_for(current_user, req, action):
        abort(403)
    mine = sorted(current_user.roles_at(req.village), key=list(Role).index)
    abort(403, _("“%(action)s”只能由%(who)s办理；您的身份是%(mine)s，只能查看。", action=action.label,
                 who=_("、").join(r.label for r in sorted(roles_for_action(action), key=list(Role).index)),
                 mine=_("、").join(r.label for r in mine) or _("（无）")))


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
    """The 409 page about `req`, with a way back to it: whether this user had already done it (a second
    tap, another tab) or the request changed underneath, and then what changed (issue 16 item 10)."""
    def page(text: str) -> str:
        story = conflict_story(req, current_user.id, posted_seen())
        if story.mine and text == _("该事项已被他人处理，请查看最新状态。"):
            text = ""  # not someone else: the page says it was this user's own
        return render_template("payment_requests/conflict.html", req=req, text=text, story=story)

    return page


def act(req: PaymentRequest, action: Action, call: Callable[[str | None, int | None], RequestAction | None],
        invalid: Callable[[InputError], Any]) -> ResponseReturnValue:
    """A workflow action from a posted form: `call(client_key, version)` runs the service."""
    return write(lambda: call(posted_key(), posted_version()), done=lambda _row: done(req, action),
                 invalid=invalid, conflict=conflict_page(req))
