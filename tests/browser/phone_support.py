"""What the browser tests of issue 16's approval story share: a request of 东岳村 brought to a state on the
live server through the services (as tests/factories.py does), and a look at its rows afterwards."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from tests.browser.support import LiveServer

T = TypeVar("T")


def on_live(live: LiveServer, work: Callable[[], T]) -> T:
    """Run `work` in the live app's context with a session of its own (the factories commit)."""
    from finance.extensions import db

    with live.app.app_context():
        try:
            return work()
        finally:
            db.scoped.remove()


def request_in(live: LiveServer, state: Any, amount: str, payee: str, **kwargs: Any) -> int:
    """The id of a new request for `payee`, brought to `state` through the services."""
    import uuid

    from tests import factories as f

    # an account of its own: the controls' cumulative bands add up a payee's requests on the shared server
    kwargs.setdefault("payee_account", "62284800" + str(uuid.uuid4().int)[:11])
    return on_live(live, lambda: f.in_state(state, amount, payee_name=payee, **kwargs).id)


def state_of(live: LiveServer, request_id: int) -> str:
    from finance.extensions import db
    from finance.payment_requests.models import PaymentRequest

    return on_live(live, lambda: db.session.get(PaymentRequest, request_id).state.value)


def press(me: Any, name: str, wait_for: str, javascript: bool = True) -> None:
    """Tap a form's button and wait for the answer: a page load without JS; with JS the form script
    sends it and puts the answer's <main> in place, so wait for `wait_for` to appear in it."""
    if not javascript:
        me.click(name)
    else:
        me.responses.clear()
        with me.page.expect_response(lambda r: r.request.method == "POST"):
            me.page.get_by_role("button", name=name, exact=True).first.click()
    me.page.locator(wait_for).first.wait_for()
    if javascript:
        me.responses.clear()  # the script's own 422 is an answer shown, not a resource that failed


def requests_with_purpose(live: LiveServer, purpose: str) -> list[tuple[int, str]]:
    """(id, state) of every request whose purpose is `purpose`."""
    from sqlalchemy import select

    from finance.extensions import db
    from finance.payment_requests.models import PaymentRequest

    return on_live(live, lambda: [(r.id, r.state.value) for r in db.session.execute(
        select(PaymentRequest).where(PaymentRequest.purpose == purpose)).scalars()])
