"""The cashier types the payment off the bank receipt (issue 16 item 2): a fresh pay form carries none of
the approved figures, and the service refuses a typed transfer that differs from the approval."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from finance.payment_requests.services import RequestError
from finance.payments import services as payments
from finance.payments.forms import TYPED_FROM_RECEIPT, PaymentForm
from finance.workflow import State
from tests import factories as f


def test_a_fresh_pay_form_carries_none_of_the_approved_figures(app, db):
    req = f.in_state(State.APPROVED, "58500.00")
    with app.test_request_context("/payments/1/pay"):
        form = PaymentForm()
        form.fill_from(req)
        assert all(getattr(form, name).data == "" for name in TYPED_FROM_RECEIPT)
        assert form.version.data == str(req.version) and form.value_date.data


@pytest.mark.parametrize(("field", "typed"), [
    ("amount", Decimal("58000.00")),
    ("payee_name", "濮阳市华龙区兴农农资经营部（个人）"),
    ("payee_account", "6228480012345678900"),
])
def test_a_typed_transfer_that_differs_from_the_approval_is_refused(db, field, typed):
    req = f.in_state(State.APPROVED, "58500.00")
    cashier = f.user("yc_chuna")
    with pytest.raises(RequestError) as refused:
        payments.record_payment(cashier, req, f.payment_input(req, **{field: typed}), client_key=uuid.uuid4().hex)
    assert field in refused.value.errors
    db.rollback()
    assert req.state == State.APPROVED
    payments.record_payment(cashier, req, f.payment_input(req), client_key=uuid.uuid4().hex)
    assert req.state == State.PAID
