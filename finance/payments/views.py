"""The cashier's page: record the bank transfer of an approved request (checked against what was
approved), through the one write pipeline. Reconciliation is the bank's pages (finance.bank.views)."""

from __future__ import annotations

import os

from flask import Blueprint, abort, current_app, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from finance.errors import Forbidden, InputError
from finance.payment_requests import services as requests
from finance.payment_requests.models import PaymentRequest
from finance.payment_requests.pages import act, load_visible
from finance.payments import pending, services
from finance.payments.forms import PaymentForm
from finance.web import FORM_ERROR, see_other
from finance.workflow import Action, NotAllowed

bp = Blueprint("payments", __name__, url_prefix="/payments")


@bp.before_request
@login_required
def _signed_in() -> None:
    return None


def render_pay(form: PaymentForm, req: PaymentRequest, other_errors: dict[str, str] | None = None,
               kept: pending.Pending | None = None) -> str:
    if kept is not None and not form.receipt.errors:
        form.receipt.flags.required = False  # the receipt sent with the refused form is kept
    else:
        kept = None
    return render_template("payments/pay.html", form=form, req=req, other_errors=other_errors or {}, kept=kept)


def _receipt(req: PaymentRequest) -> tuple[str, bytes, pending.Pending | None]:
    """The receipt this send carries: a file chosen now, else the one kept from a refused send."""
    upload = request.files.get("receipt")
    if upload is not None and upload.filename:
        limit = current_app.config["MAX_UPLOAD_BYTES"]
        return os.path.basename(upload.filename), upload.stream.read(limit + 1), None
    found = pending.take(request.form.get("pending_receipt"), current_user.id, req.id)
    if found is None:
        return "", b"", None
    kept, data = found
    return kept.filename, data, kept


def _keep(req: PaymentRequest, name: str, receipt: bytes, kept: pending.Pending | None) -> pending.Pending | None:
    """After a refusal: the receipt to offer again without choosing it."""
    if kept is not None or not receipt:
        return kept
    return pending.keep(current_user.id, req.id, name, receipt)


@bp.route("/<int:request_id>/pay", methods=["GET", "POST"])
def pay(request_id: int) -> ResponseReturnValue:
    req = load_visible(request_id)
    form = PaymentForm()
    if request.method == "GET":
        try:
            requests.check(current_user, req, Action.PAY)
        except NotAllowed:
            return see_other(url_for("payment_requests.detail", request_id=req.id),
                             _("该申请当前状态为“%(state)s”，不能登记支付。", state=req.state.label), "error")
        except Forbidden:
            abort(403)
        form.fill_from(req)
        return render_pay(form, req)
    name, receipt, kept = _receipt(req)
    data, errors = form.parse(name, receipt)
    if errors:
        # Show every problem at once: what the service would refuse as well (it only reads here).
        if data.amount is not None or data.value_date is not None:
            errors = {**services.check_payment(req, data), **errors}
        return render_pay(form, req, form.add_errors(errors), _keep(req, name, receipt, kept)), FORM_ERROR

    def invalid(exc: InputError) -> str:
        other = form.add_errors(exc.errors) if exc.errors else {"form": str(exc)}
        return render_pay(form, req, other, _keep(req, name, receipt, kept))

    return act(req, Action.PAY, lambda key, version: services.record_payment(
        current_user, req, data, client_key=key, version=version), invalid)
