"""廉情监督 → 风险提示: the liaison's workbench (flags of their scope, filtered and ranked), a flag's evidence
with its history, the two dispositions, holds on a payment, and the district page (提级监督). Thin: the
services write, the queries read."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from flask import Blueprint, abort, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from finance import trail
from finance.errors import InputError
from finance.extensions import db
from finance.flags import district, queries, services
from finance.flags.models import Colour, FlagStatus, FlagType
from finance.flags.registry import DETECTORS
from finance.oversight import services as oversight
from finance.oversight.models import PaymentHold
from finance.params import parse_page
from finance.payment_requests import queries as request_queries
from finance.permissions import Permission, can
from finance.timefmt import today_local
from finance.web import see_other, write

bp = Blueprint("flags", __name__, url_prefix="/oversight/flags")


def _liaison() -> None:
    if not can(current_user, Permission.AUDIT_READ):
        abort(404)


def _parse(enum: Any, value: str | None) -> Any:
    try:
        return enum(value) if value else None
    except ValueError:
        return None


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 10 else None


@bp.route("/")
@login_required
def index() -> str:
    _liaison()
    status_arg = request.args.get("status", FlagStatus.OPEN.value)
    filters = queries.Filters(village_id=_int(request.args.get("village")),
                              kind=_parse(FlagType, request.args.get("type")),
                              colour=_parse(Colour, request.args.get("colour")),
                              status=None if status_arg == "all" else _parse(FlagStatus, status_arg) or FlagStatus.OPEN)
    page = parse_page(request.args.get("page"))
    rows, count = queries.workbench(current_user, filters, page)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("flags/index.html", rows=rows, count=count, page=page,
                           pages=max(1, -(-count // queries.PAGE)),
                           filters=filters, status_arg=status_arg, args=args,
                           villages=queries.liaison_villages(current_user), types=list(FlagType),
                           colours=list(Colour), statuses=list(FlagStatus), now=datetime.now(UTC),
                           age_days=queries.age_days, detectors=DETECTORS)


def _flag_or_404(flag_id: int) -> Any:
    _liaison()
    flag = queries.visible_flag(current_user, flag_id)
    if flag is None:
        abort(404)
    return flag


def _render_flag(flag: Any, errors: dict[str, str] | None = None, form: Any = None) -> str:
    reqs = queries.requests_of(flag)
    return render_template("flags/flag.html", flag=flag, reqs=reqs, evidence=queries.evidence_of(flag),
                           images=queries.images_of(flag), history=queries.history_of(flag),
                           decided_by=queries.user_name(flag.decided_by_id), errors=errors or {}, form=form or {},
                           default_deadline=today_local() + timedelta(days=10),
                           holds={r.id: queries.hold_of(r) for r in reqs})


@bp.route("/<int:flag_id>")
@login_required
def flag(flag_id: int) -> str:
    return _render_flag(_flag_or_404(flag_id))


@bp.route("/<int:flag_id>/clear", methods=["POST"])
@login_required
def clear(flag_id: int) -> ResponseReturnValue:
    f = _flag_or_404(flag_id)
    return write(lambda: services.clear(current_user, f, request.form.get("reason", "")),
                 done=lambda _n: see_other(url_for("flags.flag", flag_id=f.id), _("已标记为“已核实无异常”。")),
                 invalid=lambda exc: _render_flag(f, exc.errors, request.form))


@bp.route("/<int:flag_id>/ask", methods=["POST"])
@login_required
def ask(flag_id: int) -> ResponseReturnValue:
    f = _flag_or_404(flag_id)
    reqs = {r.id: r for r in queries.requests_of(f)}
    req = reqs.get(_int(request.form.get("request_id")) or 0) or (list(reqs.values())[-1] if reqs else None)
    if req is None:
        abort(404)
    try:
        deadline: date | None = date.fromisoformat(request.form.get("deadline", ""))
    except ValueError:
        deadline = None

    def invalid(exc: InputError) -> str:
        return _render_flag(f, exc.errors, request.form)

    return write(lambda: services.ask(current_user, f, req, request.form.get("text", ""), deadline,
                                      hold=request.form.get("hold") == "1",
                                      hold_reason=request.form.get("hold_reason", "")),
                 done=lambda _q: see_other(url_for("flags.flag", flag_id=f.id), _("已提出问询。")), invalid=invalid)


@bp.route("/requests/<int:request_id>/hold", methods=["POST"])
@login_required
def hold(request_id: int) -> ResponseReturnValue:
    req = request_queries.get_visible(current_user, request_id)
    if req is None or not can(current_user, Permission.PAYMENT_HOLD, req):
        abort(404)
    back = request.form.get("back") or url_for("oversight.request_detail", request_id=req.id)
    if not back.startswith("/") or back.startswith("//"):
        back = url_for("oversight.request_detail", request_id=req.id)
    question = next((q for q in queries.open_questions_of(req)), None)
    return write(lambda: oversight.hold_payment(current_user, req, request.form.get("hold_reason", ""), question),
                 done=lambda _h: see_other(back, _("已暂缓支付。")),
                 invalid=lambda exc: see_other(back, str(exc), "error"))


@bp.route("/holds/<int:hold_id>/lift", methods=["POST"])
@login_required
def lift(hold_id: int) -> ResponseReturnValue:
    hold_row = db.session.get(PaymentHold, hold_id)
    if hold_row is None:
        abort(404)
    req = request_queries.get_visible(current_user, hold_row.request_id)
    if req is None or not can(current_user, Permission.PAYMENT_HOLD, req):
        abort(404)
    back = request.form.get("back") or url_for("oversight.request_detail", request_id=req.id)
    if not back.startswith("/") or back.startswith("//"):
        back = url_for("oversight.request_detail", request_id=req.id)
    return write(lambda: oversight.lift_hold(current_user, hold_row, request.form.get("lift_reason", "")),
                 done=lambda _n: see_other(back, _("已解除暂缓支付。")),
                 invalid=lambda exc: see_other(back, str(exc), "error"))


@bp.route("/district")
@login_required
def district_page() -> str:
    unit = district.district_of_user(current_user)
    if unit is None:
        abort(404)
    return render_template("flags/district.html", district=unit, report=district.report(unit),
                           labels={t.value: t.label for t in FlagType}, zero=Decimal("0"))


@bp.context_processor
def _labels() -> dict[str, object]:
    return {"action_label": trail.action_label}
