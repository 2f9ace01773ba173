"""Pages of the controls: the related-persons register and the 负面清单 (district admin, per township),
resolutions and contracts (village accountant), an invoice's facts and what a request pays against
(the accountant, from the request page), and the control report shown on the request page.

Views are thin: they read the form, call a service, commit once. Outside one's scope a page is a 404."""

from __future__ import annotations

import io
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.wrappers import Response

import audit
from audit.models import Event
from finance import storage
from finance.auth.models import RoleAssignment, User
from finance.controls import queries as q
from finance.controls import services as controls
from finance.controls.checks import preview_report
from finance.controls.models import (
    INSTALMENT_LABELS,
    LIST_ACTION_LABELS,
    MATTER_LABELS,
    RELATION_LABELS,
    Contract,
    Instalment,
    NegativeItem,
    RelatedPerson,
    Relation,
    Resolution,
)
from finance.extensions import db
from finance.orgs.models import OrgUnit
from finance.payment_requests.models import Attachment, AttachmentKind, PaymentRequest
from finance.payment_requests.queries import get_visible
from finance.permissions import Forbidden, Permission, acting_role, can
from finance.roles import OrgKind, Role
from finance.workflow import Action

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
    editable = req.state in controls.EDITABLE_STATES and acting_role(current_user, req, Action.EDIT) is not None
    return {"report": report, "facts": q.invoice_facts(req), "link": q.link_of(req), "visible": seen,
            "editable": editable,
            "invoices": [a for a in req.attachments if a.kind == AttachmentKind.INVOICE]}


# --- helpers --------------------------------------------------------------------------------------------

def _township_or_404(unit_id: int) -> OrgUnit:
    unit = db.session.get(OrgUnit, unit_id)
    if unit is None or unit.kind != OrgKind.TOWNSHIP or not can(current_user, Permission.ORG_MANAGE, unit):
        abort(404)
    return unit


def _official_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or not any(can(current_user, Permission.ORG_MANAGE, a.org_unit) for a in user.assignments):
        abort(404)
    return user


def _person_or_404(person_id: int) -> RelatedPerson:
    person = db.session.get(RelatedPerson, person_id)
    if person is None:
        abort(404)
    _official_or_404(person.official_id)
    return person


def _my_village() -> OrgUnit:
    for a in current_user.assignments:
        if a.role == Role.ACCOUNTANT and a.org_unit.kind == OrgKind.VILLAGE:
            return a.org_unit
    abort(404)


def _village_record_or_404(record: Resolution | Contract | None) -> Any:
    if record is None or not can(current_user, Permission.REQUEST_READ, record.village):
        abort(404)
    return record


def _history(subject_type: str, subject_id: int) -> list[Event]:
    return list(db.session.execute(select(Event).where(
        Event.chain_id == audit.SYSTEM_CHAIN, Event.subject_type == subject_type,
        Event.subject_id == str(subject_id)).order_by(Event.seq)).scalars())


def _fail(exc: controls.ControlError) -> dict[str, str]:
    db.session.rollback()
    return exc.errors or {"form": str(exc)}


# --- the register (district admin, per township) ---------------------------------------------------------

def _township_officials(township: OrgUnit) -> list[tuple[OrgUnit, list[User]]]:
    units = list(db.session.execute(select(OrgUnit).where(
        OrgUnit.path.startswith(township.path, autoescape=True)).order_by(OrgUnit.path)).scalars())
    out = []
    for unit in units:
        users = list(db.session.execute(
            select(User).join(RoleAssignment, RoleAssignment.user_id == User.id)
            .where(RoleAssignment.org_unit_id == unit.id).distinct().order_by(User.username)).scalars())
        if users:
            out.append((unit, users))
    return out


@bp.route("/townships/<int:unit_id>/register")
def register(unit_id: int) -> str:
    township = _township_or_404(unit_id)
    groups = _township_officials(township)
    people = q.register_of([u for _unit, users in groups for u in users])
    counts: dict[int, int] = {}
    for p in people:
        counts[p.official_id] = counts.get(p.official_id, 0) + 1
    return render_template("controls/register.html", township=township, groups=groups, counts=counts)


@bp.route("/officials/<int:user_id>/register", methods=["GET", "POST"])
def official(user_id: int) -> Any:
    official_user = _official_or_404(user_id)
    errors: dict[str, str] = {}
    typed: dict[str, str] = {}
    form_name = request.form.get("form", "")
    if request.method == "POST":
        typed = {k: request.form.get(k, "") for k in ("name", "relation", "id_number", "accounts", "note")}
        data = controls.PersonInput(**typed)
        try:
            if form_name == "own":
                controls.set_own_identity(current_user, official_user, data)
            else:
                controls.add_related_person(current_user, official_user, data)
        except controls.ControlError as exc:
            errors = _fail(exc)
        except Forbidden:
            abort(404)
        else:
            db.session.commit()
            flash(_("已登记。") if form_name != "own" else _("已保存本人身份证号和账号。"), "success")
            return redirect(url_for(".official", user_id=official_user.id), 303)
    people = q.register_of([official_user], include_inactive=True)
    own = next((p for p in people if p.relation == Relation.SELF and p.active), None)
    relatives = [p for p in people if p.relation != Relation.SELF]
    status = 422 if errors else 200
    return render_template("controls/official.html", official=official_user, own=own, relatives=relatives,
                           errors=errors, typed=typed, form_name=form_name,
                           relations=[r for r in Relation if r != Relation.SELF]), status


@bp.route("/people/<int:person_id>", methods=["GET", "POST"])
def person(person_id: int) -> Any:
    row = _person_or_404(person_id)
    errors: dict[str, str] = {}
    typed = {"name": row.name, "relation": row.relation.value, "id_number": row.id_number or "",
             "accounts": "\n".join(a.account for a in row.accounts), "note": row.note}
    if request.method == "POST":
        typed = {k: request.form.get(k, "") for k in ("name", "relation", "id_number", "accounts", "note")}
        try:
            changed = controls.update_related_person(current_user, row, controls.PersonInput(**typed))
        except controls.ControlError as exc:
            errors = _fail(exc)
        else:
            db.session.commit()
            flash(_("已保存修改。") if changed else _("没有改动。"), "success" if changed else "info")
            return redirect(url_for(".official", user_id=row.official_id), 303)
    return render_template("controls/person.html", person=row, typed=typed, errors=errors,
                           relations=[r for r in Relation if r != Relation.SELF],
                           history=_history("related_person", row.id)), 422 if errors else 200


@bp.route("/people/<int:person_id>/remove", methods=["POST"])
def remove_person(person_id: int) -> Response:
    row = _person_or_404(person_id)
    controls.remove_related_person(current_user, row, request.form.get("reason", ""))
    db.session.commit()
    flash(_("已从登记中移除（记录保留）。"), "success")
    return redirect(url_for(".official", user_id=row.official_id), 303)


# --- the 负面清单 (district admin, per township) ------------------------------------------------------------

@bp.route("/townships/<int:unit_id>/negative-list", methods=["GET", "POST"])
def negative_list(unit_id: int) -> Any:
    township = _township_or_404(unit_id)
    errors: dict[str, str] = {}
    typed = {"item": "", "keywords": "", "action": "warn"}
    if request.method == "POST":
        typed = {k: request.form.get(k, "") for k in typed}
        try:
            controls.add_negative_item(current_user, township, controls.NegativeItemInput(**typed))
        except controls.ControlError as exc:
            errors = _fail(exc)
        else:
            db.session.commit()
            flash(_("已加入负面清单。"), "success")
            return redirect(url_for(".negative_list", unit_id=township.id), 303)
    items = q.negative_items(township)
    return render_template("controls/negative_list.html", township=township, items=items, errors=errors,
                           typed=typed, rules=q.control_rules(township),
                           quorum=controls.quorum_text(q.control_rules(township).quorum)), 422 if errors else 200


@bp.route("/negative-items/<int:item_id>/remove", methods=["POST"])
def remove_negative_item(item_id: int) -> Response:
    row = db.session.get(NegativeItem, item_id)
    if row is None:
        abort(404)
    township = _township_or_404(row.township_id)
    controls.remove_negative_item(current_user, row)
    db.session.commit()
    flash(_("已从负面清单移除。"), "success")
    return redirect(url_for(".negative_list", unit_id=township.id), 303)


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
def new_resolution() -> Any:
    village = _my_village()
    if not can(current_user, Permission.REQUEST_CREATE, village):
        abort(404)
    errors: dict[str, str] = {}
    fields = ("matter", "matter_kind", "meeting_date", "expected", "present", "amount")
    typed = {k: request.form.get(k, "") for k in fields} if request.method == "POST" else {"matter_kind": "works"}
    if request.method == "POST":
        try:
            res = controls.create_resolution(current_user, village, controls.ResolutionInput(
                **typed, minutes=_upload("minutes"), publicity=_upload("publicity")),
                q.control_rules(village.township))
        except controls.ControlError as exc:
            errors = _fail(exc)
        else:
            db.session.commit()
            flash(_("已登记决议。"), "success")
            return redirect(url_for(".resolution", resolution_id=res.id), 303)
    return render_template("controls/resolution_form.html", village=village, typed=typed, errors=errors,
                           quorum=controls.quorum_text(q.control_rules(village.township).quorum)), \
        422 if errors else 200


@bp.route("/resolutions/<int:resolution_id>", methods=["GET", "POST"])
def resolution(resolution_id: int) -> Any:
    res = _village_record_or_404(db.session.get(Resolution, resolution_id))
    errors: dict[str, str] = {}
    if request.method == "POST":
        if not can(current_user, Permission.REQUEST_CREATE, res.village):
            abort(404)
        try:
            controls.add_result_publicity(current_user, res, _upload("result") or controls.Upload("", b""))
        except controls.ControlError as exc:
            errors = _fail(exc)
        else:
            db.session.commit()
            flash(_("已上传结果公开照片。"), "success")
            return redirect(url_for(".resolution", resolution_id=res.id), 303)
    contracts = [c for c in q.contracts_of(res.village) if c.resolution_id == res.id]
    return render_template("controls/resolution.html", res=res, used=q.usage(resolution_id=res.id),
                           contracts=contracts, errors=errors,
                           may_edit=can(current_user, Permission.REQUEST_CREATE, res.village)), 422 if errors else 200


@bp.route("/contracts/new", methods=["GET", "POST"])
def new_contract() -> Any:
    village = _my_village()
    if not can(current_user, Permission.REQUEST_CREATE, village):
        abort(404)
    errors: dict[str, str] = {}
    fields = ("title", "counterparty", "amount", "signed_on", "starts_on", "ends_on", "resolution_id")
    typed = {k: request.form.get(k, "") for k in fields} if request.method == "POST" else {
        "resolution_id": request.args.get("resolution", "")}
    if request.method == "POST":
        rid = typed.get("resolution_id", "")
        data = controls.ContractInput(**{k: v for k, v in typed.items() if k != "resolution_id"},
                                      resolution_id=int(rid) if rid.isdigit() else None, file=_upload("file"))
        try:
            contract = controls.create_contract(current_user, village, data)
        except controls.ControlError as exc:
            errors = _fail(exc)
        else:
            db.session.commit()
            flash(_("已登记合同。"), "success")
            return redirect(url_for(".contract", contract_id=contract.id), 303)
    return render_template("controls/contract_form.html", village=village, typed=typed, errors=errors,
                           resolutions=q.resolutions_of(village)), 422 if errors else 200


@bp.route("/contracts/<int:contract_id>")
def contract(contract_id: int) -> str:
    row = _village_record_or_404(db.session.get(Contract, contract_id))
    return render_template("controls/contract.html", contract=row, used=q.usage(contract_id=row.id),
                           instalments=q.instalments_of(row))


FILES = {"minutes": ("minutes_sha256", "minutes_type"), "publicity": ("publicity_sha256", "publicity_type"),
         "result": ("result_sha256", "result_type")}


@bp.route("/resolutions/<int:resolution_id>/files/<name>")
def resolution_file(resolution_id: int, name: str) -> Response:
    res = _village_record_or_404(db.session.get(Resolution, resolution_id))
    if name not in FILES or not getattr(res, FILES[name][0]):
        abort(404)
    return _send(getattr(res, FILES[name][0]), getattr(res, FILES[name][1]), name)


@bp.route("/contracts/<int:contract_id>/file")
def contract_file(contract_id: int) -> Response:
    row = _village_record_or_404(db.session.get(Contract, contract_id))
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
    """Only the accountant may type what a request carries, and only while it is a draft or returned."""
    if acting_role(current_user, req, Action.EDIT) is None:
        abort(404)
    if req.state not in controls.EDITABLE_STATES:
        flash(_("只有草稿或退回的申请可以修改。"), "error")
        abort(redirect(url_for("payment_requests.detail", request_id=req.id), 303))


@bp.route("/attachments/<int:attachment_id>/invoice", methods=["GET", "POST"])
def invoice(attachment_id: int) -> Any:
    att = db.session.get(Attachment, attachment_id)
    if att is None or att.kind != AttachmentKind.INVOICE or get_visible(current_user, att.request_id) is None:
        abort(404)
    req = att.request
    _editable(req)
    fact = q.invoice_facts(req).get(att.id)
    errors: dict[str, str] = {}
    fields = ("number", "code", "invoice_date", "seller", "amount")
    if request.method == "POST":
        typed = {k: request.form.get(k, "") for k in fields}
        try:
            controls.record_invoice(current_user, att, controls.InvoiceInput(**typed))
        except controls.ControlError as exc:
            errors = _fail(exc)
        else:
            db.session.commit()
            flash(_("已保存发票信息。"), "success")
            return redirect(url_for("payment_requests.detail", request_id=req.id, _anchor="controls"), 303)
    elif fact is not None:
        typed = {"number": fact.number, "code": fact.code or "", "invoice_date": fact.invoice_date.isoformat(),
                 "seller": fact.seller, "amount": f"{fact.amount:f}"}
    else:
        typed = {"seller": req.payee_name, "amount": f"{req.amount:f}" if req.amount is not None else ""}
    return render_template("controls/invoice_form.html", att=att, req=req, typed=typed, errors=errors), \
        422 if errors else 200


@bp.route("/requests/<int:request_id>/link", methods=["GET", "POST"])
def link(request_id: int) -> Any:
    req = get_visible(current_user, request_id)
    if req is None:
        abort(404)
    _editable(req)
    current = q.link_of(req)
    errors: dict[str, str] = {}
    if request.method == "POST":
        typed = {k: request.form.get(k, "") for k in ("resolution_id", "contract_id", "instalment", "payee_id_number")}
        try:
            controls.link_request(
                current_user, req,
                resolution_id=int(typed["resolution_id"]) if typed["resolution_id"].isdigit() else None,
                contract_id=int(typed["contract_id"]) if typed["contract_id"].isdigit() else None,
                instalment=typed["instalment"] or None, payee_id_number=typed["payee_id_number"] or None)
        except controls.ControlError as exc:
            errors = _fail(exc)
        else:
            db.session.commit()
            flash(_("已保存。"), "success")
            return redirect(url_for("payment_requests.detail", request_id=req.id, _anchor="controls"), 303)
    else:
        typed = {"resolution_id": str(current.resolution_id or "") if current else "",
                 "contract_id": str(current.contract_id or "") if current else "",
                 "instalment": current.instalment.value if current and current.instalment else "",
                 "payee_id_number": current.payee_id_number or "" if current else ""}
    return render_template("controls/link_form.html", req=req, typed=typed, errors=errors,
                           resolutions=q.resolutions_of(req.village), contracts=q.contracts_of(req.village),
                           instalments=list(Instalment)), 422 if errors else 200
