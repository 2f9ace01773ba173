"""The one write pipeline of the pages: a posted form becomes one service call, and its outcome one answer.

    done            commit; `done(outcome)`, normally a 303 redirect with a flash saying what was done
    InputError      422: the page again with the messages (`invalid`), or the message flashed on `back` (303)
    Forbidden       403
    NotFound        404
    NotAllowed,
    AlreadyHandled  409: `conflict(text)`, or the error page, saying what happened

The services check everything (replay key, page version, state, permission, input); the view only parses
the form and names its pages. A refused unit of work is rolled back here, so the page shown reads the
rows as they were; the view commits nothing and rolls back nothing itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import abort, flash, redirect
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from finance.errors import AlreadyHandled, Forbidden, InputError, NotFound
from finance.extensions import db
from finance.workflow import NotAllowed

T = TypeVar("T")

FORM_ERROR = 422  # a form shown again with messages under its fields
CONFLICT = 409


def conflict_text(exc: Exception) -> str:
    """What a 409 says: the state does not allow the action, or someone (or this page) came first."""
    if isinstance(exc, NotAllowed):
        return _("该申请当前状态为“%(state)s”，不能执行“%(action)s”。", state=exc.state.label,
                 action=exc.action.label)
    return str(exc) or _("该事项已被他人处理，请查看最新状态。")


def write(
    call: Callable[[], T],
    *,
    done: Callable[[T], ResponseReturnValue],
    invalid: Callable[[InputError], Any] | None = None,
    back: str | None = None,
    conflict: Callable[[str], Any] | None = None,
) -> ResponseReturnValue:
    """Run `call` as one unit of work and turn its outcome into the response (see the module's table).
    `invalid` and `conflict` return a page body (or a response of their own); the status is set here."""
    try:
        outcome = call()
    except (InputError, Forbidden, NotFound, NotAllowed, AlreadyHandled) as exc:
        db.session.rollback()  # nothing of a refused unit of work stays, not even in what the answer reads
        return _refused(exc, invalid, back, conflict)
    db.session.commit()
    return done(outcome)


def _refused(exc: Exception, invalid: Callable[[InputError], Any] | None, back: str | None,
             conflict: Callable[[str], Any] | None) -> ResponseReturnValue:
    if isinstance(exc, InputError):
        if invalid is not None:
            return _with_status(invalid(exc), FORM_ERROR)
        flash(str(exc), "error")
        return redirect(back or "/", 303)
    if isinstance(exc, Forbidden):
        abort(403)
    if isinstance(exc, NotFound):
        abort(404)
    text = conflict_text(exc)
    if conflict is None:
        abort(CONFLICT, text)
    return _with_status(conflict(text), CONFLICT)


def _with_status(body: Any, status: int) -> ResponseReturnValue:
    if isinstance(body, tuple):
        return (body[0], status, *body[2:])
    if isinstance(body, str):
        return body, status
    return body  # a response the callback made itself (a redirect)


def see_other(url: str, message: str | None = None, category: str = "success") -> ResponseReturnValue:
    """The 303 after a write, with what to tell the user."""
    if message:
        flash(message, category)
    return redirect(url, 303)
