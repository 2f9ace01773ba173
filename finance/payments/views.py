"""The cashier's pages: record the bank transfer of an approved request (checked against what was
approved), and confirm it against the bank statement."""

from __future__ import annotations

import os
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from finance.payment_requests import services as requests
from finance.payment_requests.forms import clean_key
from finance.payment_requests.models import PaymentRequest
from finance.payment_requests.views import (
    FORM_ERROR,
    conflict,
    handled_by_me,
    load_visible,
    perform,
    render_detail,
    success,
)
from finance.payments import services
from finance.payments.forms import PaymentForm
from finance.permissions import acting_role
from finance.workflow import Action, State

bp = Blueprint("payments", __name__, url_prefix="/payments")


@bp.before_request
@login_required
def _signed_in() -> None:
    return None


def render_pay(
    form: PaymentForm, req: PaymentRequest, status: int = 200, other_errors: dict[str, str] | None = None
) -> tuple[str, int]:
    reselect = status != 200 and bool(request.files.get("receipt") and request.files["receipt"].filename)
    return render_template(
        "payments/pay.html", form=form, req=req, other_errors=other_errors or {}, reselect=reselect
    ), status


@bp.route("/<int:request_id>/pay", methods=["GET", "POST"])
def pay(request_id: int) -> Any:
    req = load_visible(request_id)
    form = PaymentForm()
    key = clean_key(form.client_key.data) if request.method == "POST" else None
    if request.method == "POST" and handled_by_me(key) is not None:
        return success(req, Action.PAY)  # the same form, sent again: paid once
    if req.state != State.APPROVED:
        if request.method == "POST":
            return conflict(req, Action.PAY, not_allowed=True)
        flash(_("该申请当前状态为“%(state)s”，不能登记支付。", state=req.state.label), "error")
        return redirect(url_for("payment_requests.detail", request_id=req.id), 303)
    if acting_role(current_user, req, Action.PAY) is None:
        abort(403)
    if request.method == "GET":
        form.fill_from(req)
        return render_pay(form, req)
    version = form.version.data or ""
    if version.isdigit() and int(version) != req.version:
        return conflict(req)
    upload = request.files.get("receipt")
    limit = current_app.config["MAX_UPLOAD_BYTES"]
    receipt = upload.stream.read(limit + 1) if upload is not None and upload.filename else b""
    name = os.path.basename(upload.filename or "") if upload is not None else ""
    data, errors = form.parse(name, receipt)
    if errors:
        # Show every problem at once: what the service would refuse as well (it only reads here).
        if data.amount is not None or data.value_date is not None:
            errors = {**services.check_payment(req, data), **errors}
        other = form.add_errors(errors)
        return render_pay(form, req, FORM_ERROR, other)
    def on_error(exc: requests.RequestError) -> Any:
        other = form.add_errors(exc.errors) if exc.errors else {"form": str(exc)}
        return render_pay(form, req, FORM_ERROR, other)

    return perform(
        req, Action.PAY, lambda key: services.record_payment(current_user, req, data, client_key=key), on_error
    )


@bp.route("/<int:request_id>/reconcile", methods=["POST"])
def reconcile(request_id: int) -> Any:
    req = load_visible(request_id)

    def on_error(exc: requests.RequestError) -> Any:
        return render_detail(req, errors={"form": str(exc)}, status=FORM_ERROR)

    return perform(
        req, Action.RECONCILE, lambda key: services.reconcile(current_user, req, client_key=key), on_error
    )
