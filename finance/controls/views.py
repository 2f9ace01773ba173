"""Pages of the controls: the related-persons register and the 负面清单 (district admin, per township),
resolutions and contracts (village accountant), an invoice's facts and what a request pays against
(the accountant, from the request page), and the control report shown on the request page.

Views are thin: they read the form and call a service through `finance.web.write`. Outside one's scope a
page is a 404."""

from __future__ import annotations

import io
from fractions import Fraction
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from finance import storage
from finance.attachment_kinds import AttachmentKind
from finance.auth.models import User
from finance.controls import chain, scope
from finance.controls import queries as q
from finance.controls import services as controls
from finance.controls.checks import preview_report
from finance.controls.models import (
    INSTALMENT_LABELS,
    LIST_ACTION_LABELS,
    MATTER_LABELS,
    RELATION_LABELS,
    Instalment,
    RelatedPerson,
    Relation,
)
from finance.errors import InputError
from finance.orgs.models import OrgUnit
from finance.params import parse_id
from finance.payment_requests.models import PaymentRequest
from finance.payment_requests.queries import get_visible
from finance.permissions import Permission, acting_role, can
from finance.roles import Role
from finance.trail import AuditSubject
from finance.web import see_other, write
from finance.workflow import TABLE, Action

bp = Blueprint("controls", __name__, url_prefix="/controls")


@bp.before_request
@login_required
def _signed_in() -> None:
    return None


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {"relation_labels": RELATION_LABELS, "matter_labels": MATTER_LABELS,
            "instalment_labels": INSTALMENT_LABELS, "list_action_labels": LIST_ACTION_LABELS}


@bp.app_context_processor
def _request_panel() -> dict[str, Any]:
    """`control_panel(req)` for the request page's include (templates/controls/_panel.html)."""
    return {"control_panel": control_panel}


def control_panel(req: PaymentRequest) -> dict[str, Any]:
    """What the request page shows of the controls: the report (refusals, warnings, notes), the typed
    facts of each invoice, what the request pays against, and whether this user may change them."""
    report = preview_report(req, current_user)
    seen: dict[int, bool] = {}
    for finding in report.findings:
        other = finding.evidence.get("other_request_id")
        if isinstance(other, int) and other not in seen:
            seen[other] = get_visible(current_user, other) is not None
    editable = scope.may_type_into(current_user, req)
    shown = q.trail_controls(req) if req.state.submitted else None
    awaiting_pay = (req.state, Action.PAY) in TABLE
    originals_on = awaiting_pay and chain.originals_required(req)
    receipt = q.originals_receipt(req) if originals_on or req.state.paid else None
    return {"report": report, "facts": q.invoice_facts(req), "link": q.link_of(req), "visible": seen,
            "editable": editable, "invoices": [a for a in req.attachments if a.kind == AttachmentKind.INVOICE],
            "moved": [chain.moved_message(req, m) for m in shown.recusals] if shown else [],
            "committee": chain.committee_state(req) if req.state.approval_to_come else None,
            "originals_on": originals_on, "originals": receipt,
            "may_receive": originals_on and receipt is None and Role.AGENCY_REVIEWER in current_user.roles_at(
                req.village)}


# --- helpers --------------------------------------------------------------------------------------------

def _township_or_404(unit_id: int) -> OrgUnit:
    unit = scope.managed_township(current_user, q.unit(unit_id))
    if unit is None:
        abort(404)
    return unit


def _official_or_404(user_id: int) -> User:
    user = scope.managed_official(current_user, user_id)
    if user is None:
        abort(404)
    return user


def _person_or_404(person_id: int) -> RelatedPerson:
    person = scope.managed_person(current_user, person_id)
    if person is None:
        abort(404)
    return person


def _my_village() -> OrgUnit:
    villages = scope.accountant_villages(current_user)
    if not villages:
        abort(404)
    return villages[0]


def _village_record_or_404(record: scope.R | None) -> scope.R:
    found = scope.visible_record(current_user, record)
    if found is None:
        abort(404)
    return found


def _errors(exc: InputError) -> dict[str, str]:
    return exc.errors or {"form": str(exc)}


# --- the register (district admin, per township) ---------------------------------------------------------

@bp.route("/townships/<int:unit_id>/register")
def register(unit_id: int) -> str:
    township = _township_or_404(unit_id)
    groups = q.township_officials(township)
    people = q.register_of([u for _unit, users in groups for u in users])
    counts: dict[int, int] = {}
    for p in people:
        counts[p.official_id] = counts.get(p.official_id, 0) + 1
    return render_template("controls/register.html", township=township, groups=groups, counts=counts)


PERSON_FIELDS = ("name", "relation", "id_number", "accounts", "note")


@bp.route("/officials/<int:user_id>/register", methods=["GET", "POST"])
def official(user_id: int) -> ResponseReturnValue:
    official_user = _official_or_404(user_id)
    form_name = request.form.get("form", "")
    typed = {k: request.form.get(k, "") for k in PERSON_FIELDS} if request.method == "POST" else {}

    def page(errors: dict[str, str]) -> str:
        people = q.register_of([official_user], include_inactive=True)
        own = next((p for p in people if p.relation == Relation.SELF and p.active), None)
        relatives = [p for p in people if p.relation != Relation.SELF]
        return render_template("controls/official.html", official=official_user, own=own, relatives=relatives,
                               errors=errors, typed=typed, form_name=form_name,
                               relations=[r for r in Relation if r != Relation.SELF])

    if request.method != "POST":
        return page({})
    data = controls.PersonInput(**typed)
    own_line = form_name == "own"
    return write(
        lambda: controls.set_own_identity(current_user, official_user, data) if own_line
        else controls.add_related_person(current_user, official_user, data),
        done=lambda _p: see_other(url_for(".official", user_id=official_user.id),
                                  _("已保存本人身份证号和账号。") if own_line else _("已登记。")),
        invalid=lambda exc: page(_errors(exc)),
    )


@bp.route("/people/<int:person_id>", methods=["GET", "POST"])
def person(person_id: int) -> ResponseReturnValue:
    row = _person_or_404(person_id)
    typed = {"name": row.name, "relation": row.relation.value, "id_number": row.id_number or "",
             "accounts": "\n".join(a.account for a in row.accounts), "note": row.note}
    if request.method == "POST":
        typed = {k: request.form.get(k, "") for k in PERSON_FIELDS}

    def page(errors: dict[str, str]) -> str:
        return render_template("controls/person.html", person=row, typed=typed, errors=errors,
                               relations=[r for r in Relation if r != Relation.SELF],
                               history=q.system_history(AuditSubject.RELATED_PERSON, row.id))

    if request.method != "POST":
        return page({})
    return write(
        lambda: controls.update_related_person(current_user, row, controls.PersonInput(**typed)),
        done=lambda changed: see_other(url_for(".official", user_id=row.official_id),
                                       _("已保存修改。") if changed else _("没有改动。"),
                                       "success" if changed else "info"),
        invalid=lambda exc: page(_errors(exc)),
    )


@bp.route("/people/<int:person_id>/remove", methods=["POST"])
def remove_person(person_id: int) -> ResponseReturnValue:
    row = _person_or_404(person_id)
    back = url_for(".official", user_id=row.official_id)
    return write(lambda: controls.remove_related_person(current_user, row, request.form.get("reason", "")),
                 done=lambda _r: see_other(back, _("已从登记中移除（记录保留）。")), back=back)


# --- the 负面清单 (district admin, per township) ------------------------------------------------------------

@bp.route("/townships/<int:unit_id>/negative-list", methods=["GET", "POST"])
def negative_list(unit_id: int) -> ResponseReturnValue:
    township = _township_or_404(unit_id)
    typed = {"item": "", "keywords": "", "action": "warn"}
    if request.method == "POST":
        typed = {k: request.form.get(k, "") for k in typed}

    def page(errors: dict[str, str]) -> str:
        rules = q.control_rules(township)
        return render_template("controls/negative_list.html", township=township, items=q.negative_items(township),
                               errors=errors, typed=typed, rules=rules, quorum=controls.quorum_text(rules.quorum))

    if request.method != "POST":
        return page({})
    return write(
        lambda: controls.add_negative_item(current_user, township, controls.NegativeItemInput(**typed)),
        done=lambda _r: see_other(url_for(".negative_list", unit_id=township.id), _("已加入负面清单。")),
        invalid=lambda exc: page(_errors(exc)),
    )


@bp.route("/negative-items/<int:item_id>/remove", methods=["POST"])
def remove_negative_item(item_id: int) -> ResponseReturnValue:
    row = scope.managed_negative_item(current_user, item_id)
    if row is None:
        abort(404)
    township = _township_or_404(row.township_id)
    back = url_for(".negative_list", unit_id=township.id)
    return write(lambda: controls.remove_negative_item(current_user, row),
                 done=lambda _r: see_other(back, _("已从负面清单移除。")), back=back)


# --- the control policy (district admin, per township) ---------------------------------------------------

@bp.route("/townships/<int:unit_id>/policy", methods=["GET", "POST"])
def control_policy(unit_id: int) -> ResponseReturnValue:
    township = _township_or_404(unit_id)
    rules = q.control_rules(township)
    current = controls.settings_input(rules)
    if request.method == "POST":
        form = request.form
        typed = controls.ControlSettingsInput(
            window_days=form.get("window_days", ""), quorum=form.get("quorum", ""),
            image_distance=form.get("image_distance", ""), salary_subjects=form.get("salary_subjects", ""),
            committee_village_supervisor=form.get("committee_village_supervisor", ""),
            committee_village_lead=form.get("committee_village_lead", ""),
            originals_before_payment=form.get("originals_before_payment") == "1")
    else:
        typed = current

    def page(errors: dict[str, str]) -> str:
        return render_template("controls/policy.html", township=township, typed=vars(typed), errors=errors,
                               rules=rules, versions=q.control_policy_versions(township),
                               quorums=[(v, controls.quorum_text(Fraction(v))) for v in controls.QUORUM_CHOICES])

    if request.method != "POST":
        return page({})
    return write(
        lambda: controls.publish_control_settings(current_user, township, typed),
        done=lambda row: see_other(url_for(".control_policy", unit_id=township.id),
                                   _("已发布第 %(v)d 版审核规则。", v=row.version) if row else _("没有改动。")),
        invalid=lambda exc: page(_errors(exc)),
    )


# --- 原件已收 (the agency's reviewer, on an approved request) -------------------------------------------------

@bp.route("/requests/<int:request_id>/originals", methods=["POST"])
def originals(request_id: int) -> ResponseReturnValue:
    req = get_visible(current_user, request_id)
    if req is None:
        abort(404)
    back = url_for("payment_requests.detail", request_id=req.id, _anchor="controls")
    return write(lambda: controls.mark_originals_received(current_user, req),
                 done=lambda _r: see_other(back, _("已确认原件已收，出纳可以支付。")), back=back)


# --- resolutions and contracts (village accountant) ------------------------------------------------------

def _upload(name: str) -> controls.Upload | None:
    file = request.files.get(name)
    if file is None or not file.filename:
        return None
    return controls.Upload(file.filename, file.read())


@bp.route("/")
def records() -> str:
    village = _my_village()
    resolutions = [(r, q.usage(resolution_id=r.id)) for r in q.resolutions_of(village)]
    contracts = [(c, q.usage(contract_id=c.id)) for c in q.contracts_of(village)]
    return render_template("controls/records.html", village=village, resolutions=resolutions, contracts=contracts)


@bp.route("/resolutions/new", methods=["GET", "POST"])
def new_resolution() -> ResponseReturnValue:
    village = _my_village()
    if not can(current_user, Permission.REQUEST_CREATE, village):
        abort(404)
    fields = ("matter", "matter_kind", "meeting_date", "expected", "present", "amount")
    typed = {k: request.form.get(k, "") for k in fields} if request.method == "POST" else {"matter_kind": "works"}

    def page(errors: dict[str, str]) -> str:
        return render_template("controls/resolution_form.html", village=village, typed=typed, errors=errors,
                               quorum=controls.quorum_text(q.control_rules(village.township).quorum))

    if request.method != "POST":
        return page({})
    data = controls.ResolutionInput(**typed, minutes=_upload("minutes"), publicity=_upload("publicity"))
    return write(
        lambda: controls.create_resolution(current_user, village, data, q.control_rules(village.township)),
        done=lambda res: see_other(url_for(".resolution", resolution_id=res.id), _("已登记决议。")),
        invalid=lambda exc: page(_errors(exc)),
    )


@bp.route("/resolutions/<int:resolution_id>", methods=["GET", "POST"])
def resolution(resolution_id: int) -> ResponseReturnValue:
    res = _village_record_or_404(q.resolution(resolution_id))
    may_edit = can(current_user, Permission.REQUEST_CREATE, res.village)

    def page(errors: dict[str, str]) -> str:
        contracts = [c for c in q.contracts_of(res.village) if c.resolution_id == res.id]
        return render_template("controls/resolution.html", res=res, used=q.usage(resolution_id=res.id),
                               contracts=contracts, errors=errors, may_edit=may_edit)

    if request.method != "POST":
        return page({})
    if not may_edit:
        abort(404)
    upload = _upload("result") or controls.Upload("", b"")
    return write(
        lambda: controls.add_result_publicity(current_user, res, upload),
        done=lambda _r: see_other(url_for(".resolution", resolution_id=res.id), _("已上传结果公开照片。")),
        invalid=lambda exc: page(_errors(exc)),
    )


@bp.route("/contracts/new", methods=["GET", "POST"])
def new_contract() -> ResponseReturnValue:
    village = _my_village()
    if not can(current_user, Permission.REQUEST_CREATE, village):
        abort(404)
    fields = ("title", "counterparty", "amount", "signed_on", "starts_on", "ends_on", "resolution_id")
    typed = {k: request.form.get(k, "") for k in fields} if request.method == "POST" else {
        "resolution_id": request.args.get("resolution", "")}

    def page(errors: dict[str, str]) -> str:
        return render_template("controls/contract_form.html", village=village, typed=typed, errors=errors,
                               resolutions=q.resolutions_of(village))

    if request.method != "POST":
        return page({})
    rid = typed.get("resolution_id", "")
    data = controls.ContractInput(**{k: v for k, v in typed.items() if k != "resolution_id"},
                                  resolution_id=_int(rid), file=_upload("file"))
    return write(
        lambda: controls.create_contract(current_user, village, data),
        done=lambda row: see_other(url_for(".contract", contract_id=row.id), _("已登记合同。")),
        invalid=lambda exc: page(_errors(exc)),
    )


@bp.route("/contracts/<int:contract_id>")
def contract(contract_id: int) -> str:
    row = _village_record_or_404(q.contract(contract_id))
    return render_template("controls/contract.html", contract=row, used=q.usage(contract_id=row.id),
                           instalments=q.instalments_of(row))


FILES = {"minutes": ("minutes_sha256", "minutes_type"), "publicity": ("publicity_sha256", "publicity_type"),
         "result": ("result_sha256", "result_type")}


@bp.route("/resolutions/<int:resolution_id>/files/<name>")
def resolution_file(resolution_id: int, name: str) -> Response:
    res = _village_record_or_404(q.resolution(resolution_id))
    if name not in FILES or not getattr(res, FILES[name][0]):
        abort(404)
    return _send(getattr(res, FILES[name][0]), getattr(res, FILES[name][1]), name)


@bp.route("/contracts/<int:contract_id>/file")
def contract_file(contract_id: int) -> Response:
    row = _village_record_or_404(q.contract(contract_id))
    return _send(row.file_sha256, row.file_type, "contract")


def _send(sha256: str, content_type: str, name: str) -> Response:
    path = storage.display_path(sha256, content_type)
    if not path.exists():
        abort(404)
    mimetype = "image/jpeg" if path.name.endswith(".display.jpg") else content_type
    response = send_file(io.BytesIO(path.read_bytes()), mimetype=mimetype, download_name=name, max_age=0)
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


# --- from the request page: an invoice's facts, what a request pays against ------------------------------

def _editable(req: PaymentRequest) -> None:
    """Only the accountant may type what a request carries, and only while it is a draft or returned. The
    request is visible to the user: another who sees it is refused (403), as by the API."""
    if not can(current_user, Permission.REQUEST_CREATE, req.village):
        abort(403)
    if not req.state.editable:
        flash(_("只有草稿或退回的申请可以修改。"), "error")
        abort(redirect(url_for("payment_requests.detail", request_id=req.id), 303))
    if acting_role(current_user, req, Action.EDIT) is None:
        abort(403)


def _back_to(req: PaymentRequest) -> str:
    return url_for("payment_requests.detail", request_id=req.id, _anchor="controls")


@bp.route("/attachments/<int:attachment_id>/invoice", methods=["GET", "POST"])
def invoice(attachment_id: int) -> ResponseReturnValue:
    att = q.attachment_of(attachment_id)
    if att is None or att.kind != AttachmentKind.INVOICE or get_visible(current_user, att.request_id) is None:
        abort(404)
    req = att.request
    _editable(req)
    fact = q.invoice_facts(req).get(att.id)
    fields = ("number", "code", "invoice_date", "seller", "amount")
    if request.method == "POST":
        typed = {k: request.form.get(k, "") for k in fields}
    elif fact is not None:
        typed = {"number": fact.number, "code": fact.code or "", "invoice_date": fact.invoice_date.isoformat(),
                 "seller": fact.seller, "amount": f"{fact.amount:f}"}
    else:
        typed = {"seller": req.payee_name, "amount": f"{req.amount:f}" if req.amount is not None else ""}

    def page(errors: dict[str, str]) -> str:
        return render_template("controls/invoice_form.html", att=att, req=req, typed=typed, errors=errors)

    if request.method != "POST":
        return page({})
    return write(
        lambda: controls.record_invoice(current_user, att, controls.InvoiceInput(**typed)),
        done=lambda _f: see_other(_back_to(req), _("已保存发票信息。")),
        invalid=lambda exc: page(_errors(exc)),
    )


def _int(text: str) -> int | None:
    """An id from a form field: digits within the database's integers, else none (the service then says
    what is missing)."""
    return parse_id(text)


@bp.route("/requests/<int:request_id>/link", methods=["GET", "POST"])
def link(request_id: int) -> ResponseReturnValue:
    req = get_visible(current_user, request_id)
    if req is None:
        abort(404)
    _editable(req)
    current = q.link_of(req)
    fields = ("resolution_id", "contract_id", "instalment", "payee_id_number")
    if request.method == "POST":
        typed = {k: request.form.get(k, "") for k in fields}
    else:
        typed = {"resolution_id": str(current.resolution_id or "") if current else "",
                 "contract_id": str(current.contract_id or "") if current else "",
                 "instalment": current.instalment.value if current and current.instalment else "",
                 "payee_id_number": current.payee_id_number or "" if current else ""}

    def page(errors: dict[str, str]) -> str:
        return render_template("controls/link_form.html", req=req, typed=typed, errors=errors,
                               resolutions=q.resolutions_of(req.village), contracts=q.contracts_of(req.village),
                               instalments=list(Instalment))

    if request.method != "POST":
        return page({})
    return write(
        lambda: controls.link_request(current_user, req, resolution_id=_int(typed["resolution_id"]),
                                      contract_id=_int(typed["contract_id"]), instalment=typed["instalment"] or None,
                                      payee_id_number=typed["payee_id_number"] or None),
        done=lambda _l: see_other(_back_to(req), _("已保存。")),
        invalid=lambda exc: page(_errors(exc)),
    )
