"""Printed documents: the 支付审批单 and its public verification page, the liaison's 审计轨迹报告, and the
monthly 财务公开 sheet with its public page. Printing and exporting are audit events."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from typing import Any

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from finance.documents import services
from finance.documents.masking import mask_name
from finance.documents.rendering import render_one_page, render_pdf
from finance.extensions import db
from finance.orgs.models import OrgUnit
from finance.oversight.queries import liaison_villages
from finance.params import BadParam, OutOfRange, parse_day, parse_id
from finance.payment_requests.queries import get_visible
from finance.permissions import Permission, can, villages_in_scope
from finance.roles import OrgKind
from finance.security import send_document
from finance.timefmt import today_local
from finance.trail import AuditAction, AuditSubject

bp = Blueprint("documents", __name__)
# The printed forms are official Chinese documents, filed and posted as such whatever the reader's language.
PRINT_LOCALE = "zh_Hans_CN"

_PERIOD_RE = re.compile(r"^(\d{4})-(\d{2})$")


def _pdf(data: bytes, filename: str, fallback_stem: str) -> Response:
    return send_document(data, content_type="application/pdf", filename=filename, fallback_stem=fallback_stem)


def _finish_reads() -> None:
    """End the read transaction before the slow part (WeasyPrint): on SQLite every transaction holds
    the write lock from BEGIN, and a print must not make approvers wait."""
    db.session.commit()


@bp.route("/documents/requests/<int:request_id>/approval-form.pdf")
@login_required
def approval_form(request_id: int) -> Response:
    req = get_visible(current_user, request_id)
    if req is None:
        abort(404)
    return approval_form_response(req)


def approval_form_response(req: Any) -> Response:
    """The 支付审批单 of a request the user may read, printed (an event), as the PDF answer. Shared by the
    page and the API (finance.api.endpoints_requests)."""
    with force_locale(PRINT_LOCALE):
        context = services.approval_form(req, current_user)
        pages = {compact: render_template("pdf/approval_form.html", compact=compact, **context)
                 for compact in (False, True)}
    number, req_id, village_id = req.number or str(req.id), req.id, req.village_id
    _finish_reads()
    pdf = render_one_page(pages.__getitem__)
    village = db.session.get(OrgUnit, village_id)
    assert village is not None
    services.record_print(current_user, village, AuditAction.PRINT_FORM, AuditSubject.PAYMENT_REQUEST, req_id)
    db.session.commit()
    return _pdf(pdf, f"支付审批单-{number}.pdf", f"sanzi-approval-form-{number}")


@bp.route("/v/<token>")
def verify(token: str) -> ResponseReturnValue:
    """Opened from the QR code on a printed form, without logging in. Shows only what the paper shows,
    and whether the record changed since; a token that the app did not sign is a plain 404."""
    result = services.verify_print(token)
    if result is None:
        # Read by a member of the public holding a paper form: say what failed and where to ask.
        text = _("这个二维码不是本系统签发的，或者在复印、拍照时损坏了。请核对纸质审批单上的编号，"
                 "或向乡镇三资代理中心查询。")
        return _public_not_found(_("无法核验此审批单"), text)
    return render_template("documents/verify.html", v=result)


def _report_day(name: str, missing: str, errors: dict[str, str]) -> date | None:
    """A date of the report's range from the query string; a message in `errors` when there is none."""
    try:
        day = parse_day(request.args.get(name))
    except OutOfRange as exc:
        errors[name] = str(exc)
        return None
    except BadParam:
        day = None
    if day is None:
        errors[name] = missing
    return day


@bp.route("/documents/trail-report")
@login_required
def trail_report() -> ResponseReturnValue:
    if not can(current_user, Permission.AUDIT_READ):
        abort(404)
    if "village" not in request.args:
        today = today_local()
        return render_template("documents/trail_form.html", villages=liaison_villages(current_user),
                               start=today.replace(day=1), end=today, errors={})
    village = services.village_by_key(request.args.get("village", ""))
    if village is None or not can(current_user, Permission.AUDIT_READ, village):
        abort(404)
    errors: dict[str, str] = {}
    start = _report_day("start", _("请填写开始日期，格式如 2026-01-01。"), errors)
    end = _report_day("end", _("请填写结束日期，格式如 2026-01-31。"), errors)
    if start and end:
        errors.update(services.report_range_errors(start, end))
    part = parse_id(request.args.get("part")) if request.args.get("part") else None
    if request.args.get("part") and part is None:
        errors["part"] = _("分册编号不正确。")
    if errors:
        return render_template("documents/trail_form.html", villages=liaison_villages(current_user),
                               village=village, start=start, end=end, errors=errors), 400
    assert start is not None and end is not None
    try:
        return trail_report_response(village, start, end, part)
    except services.ReportInParts as split:
        # More events than one PDF should hold: the report comes in parts, each a link.
        return render_template("documents/trail_form.html", villages=liaison_villages(current_user),
                               village=village, start=start, end=end, errors={}, split=split,
                               part_size=services.REPORT_PART_EVENTS)


def trail_report_response(village: OrgUnit, start: date, end: date, part: int | None) -> Response:
    """The 审计轨迹报告 of a village the liaison reads, for a checked range, exported (an event), as the
    PDF answer; ReportInParts when the range needs parts and none was named. Shared by the page and the
    API (finance.api.endpoints_books)."""
    with force_locale(PRINT_LOCALE):
        context = services.trail_report(village, start, end, current_user, part)
        html = render_template("pdf/trail_report.html", **context)
    village_id, code = village.id, village.code
    _finish_reads()
    pdf = render_pdf(html)
    found = db.session.get(OrgUnit, village_id)
    assert found is not None
    parts = context["parts"]
    which = f"#{context['part']}" if parts > 1 else ""
    services.record_print(current_user, found, AuditAction.EXPORT_TRAIL_REPORT, AuditSubject.TRAIL_REPORT,
                          f"{start.isoformat()}..{end.isoformat()}{which}")
    db.session.commit()
    span = f"{code}-{start:%Y%m%d}-{end:%Y%m%d}" + (f"-{context['part']}of{parts}" if parts > 1 else "")
    return _pdf(pdf, f"审计轨迹报告-{span}.pdf", f"sanzi-trail-{span}")


@bp.route("/documents/disclosure")
@login_required
def disclosure_form() -> ResponseReturnValue:
    """Pick a village and a month; the sheet itself is `disclosure`."""
    if not can(current_user, Permission.REQUEST_READ):
        abort(404)
    villages = villages_in_scope(current_user)
    today = today_local()
    month = request.args.get("month", f"{today:%Y-%m}")
    if "village" not in request.args:
        return render_template("documents/disclosure_form.html", villages=villages, month=month, error=None)
    match = _PERIOD_RE.match(month.strip())
    village_id = request.args.get("village", "")
    if not village_id.isdigit() or int(village_id) not in {v.id for v in villages}:
        abort(404)
    year, mon = (int(match.group(1)), int(match.group(2))) if match else (0, 0)
    if not match or not (1 <= mon <= 12) or (year, mon) > (today.year, today.month) or year < 2000:
        error = _("请选择本月或以前的月份，格式如 2026-01。")
        return render_template("documents/disclosure_form.html", villages=villages, month=month,
                               selected=int(village_id), error=error), 400
    return redirect(url_for("documents.disclosure", village_id=int(village_id), year=year, month=mon))


@bp.route("/documents/disclosure/<int:village_id>/<int:year>/<int:month>.pdf")
@login_required
def disclosure(village_id: int, year: int, month: int) -> Response:
    village = db.session.get(OrgUnit, village_id)
    if village is None or village.kind != OrgKind.VILLAGE or not can(current_user, Permission.REQUEST_READ,
                                                                       village):
        abort(404)
    if not services.disclosure_month_ok(year, month):
        abort(404)
    return disclosure_response(village, year, month)


def disclosure_response(village: OrgUnit, year: int, month: int) -> Response:
    """The month's 财务公开 sheet of a village the user reads (a month up to this one), printed (an
    event), as the PDF answer. Shared by the page and the API (finance.api.endpoints_books)."""
    with force_locale(PRINT_LOCALE):
        html = render_template("pdf/disclosure.html", **services.disclosure(village, year, month))
    village_id, code = village.id, village.code
    _finish_reads()
    pdf = render_pdf(html)
    found = db.session.get(OrgUnit, village_id)
    assert found is not None
    services.record_print(current_user, found, AuditAction.PRINT_DISCLOSURE, AuditSubject.DISCLOSURE,
                          f"{year:04d}-{month:02d}")
    db.session.commit()
    return _pdf(pdf, f"财务公开-{code}-{year:04d}{month:02d}.pdf", f"sanzi-disclosure-{code}-{year:04d}{month:02d}")


@bp.route("/gongkai/<code>/<period>")
def public_disclosure(code: str, period: str) -> ResponseReturnValue:
    """The notice-board sheet online, for anyone who scans its QR code. 财务公开 is public by rule and
    the paper hangs on a public wall, so the page is addressed by village code and month, like the
    sheet itself; it shows the same lines as the sheet and nothing else (no accounts, no approvers)."""
    match = _PERIOD_RE.match(period)
    village = services.village_by_key(code) if match and not code.isdigit() else None
    year, month = (int(match.group(1)), int(match.group(2))) if match else (0, 0)
    today = today_local()
    if village is None or not (1 <= month <= 12 and year >= 2000) or (year, month) > (today.year, today.month):
        text = _("没有找到这一期财务公开。请核对公开栏二维码旁的村代码和月份，或向村务监督委员会询问。")
        return _public_not_found(_("没有这一期财务公开"), text)
    context = services.disclosure(village, year, month)
    # A page anyone can open: private persons' names masked (the paper on the notice board keeps them).
    # The township may choose otherwise (BankSettings.mask_public_names).
    if context["mask_names"]:
        context["lines"] = [replace(line, payee=mask_name(line.payee)) for line in context["lines"]]
        context["income"] = [replace(line, payee=mask_name(line.payee)) for line in context["income"]]
    return render_template("documents/disclosure_public.html", **context)


@bp.app_template_filter("mask_name")
def _mask_name(name: str) -> str:
    return mask_name(name)


def _public_not_found(title: str, text: str) -> ResponseReturnValue:
    """A 404 for someone without an account holding a paper: what failed and whom to ask, no login link."""
    return render_template("errors.html", code=404, title=title, text=text, public=True), 404
