"""Pages of payment requests: the form (new, edit, attachments), the detail page with its timeline and the
actions the user may take, and the list with filters. Views are thin: they parse the form, call one
service, commit once, and roll back on any error. Out-of-scope ids are 404, like missing ones."""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from PIL import Image
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response

from finance import storage
from finance.extensions import db
from finance.money import AmountError, parse_amount
from finance.orgs.models import OrgUnit
from finance.payment_requests import services
from finance.payment_requests.forms import (
    UPLOAD_KINDS,
    FilterForm,
    RequestForm,
    clean_key,
    kind_choices,
    new_key,
    parse_date,
)
from finance.payment_requests.models import Attachment, AttachmentKind, PaymentRequest, RequestAction
from finance.payment_requests.queries import current_policy, get_visible, rules_of, search
from finance.permissions import Forbidden, Permission, acting_role, can, current_step_role, jurisdiction
from finance.roles import OrgKind, Role
from finance.workflow import Action, NotAllowed, State, actions_open

bp = Blueprint("payment_requests", __name__, url_prefix="/requests")

FORM_ERROR = 422  # a form shown again with messages under its fields
THUMB_EDGE = 360

DONE_MESSAGES = {
    Action.SUBMIT: _l("已提交审批。"),
    Action.APPROVE: _l("已同意。"),
    Action.RETURN: _l("已退回报账员修改。"),
    Action.REJECT: _l("已驳回，该申请已终止。"),
    Action.WITHDRAW: _l("已撤回。"),
    Action.PAY: _l("支付已登记，申请已完成支付。"),
    Action.RECONCILE: _l("已对账确认。"),
}


@bp.before_request
@login_required
def _signed_in() -> None:
    return None


# ---- helpers shared with the payments pages -------------------------------------------------------


def load_visible(request_id: int) -> PaymentRequest:
    """The request, or 404 when it does not exist or lies outside the user's scope."""
    req = get_visible(current_user, request_id)
    if req is None:
        abort(404)
    return req


def handled_by_me(client_key: str | None) -> RequestAction | None:
    """The action this very user already took with this form (a resent or double-tapped form)."""
    if not client_key:
        return None
    row = db.session.execute(
        select(RequestAction).where(RequestAction.client_key == client_key)
    ).scalar_one_or_none()
    return row if row is not None and row.actor_id == current_user.id else None


def conflict(req: PaymentRequest, action: Action | None = None, not_allowed: bool = False) -> tuple[str, int]:
    """The 409 page: someone acted first, or the action is not open in the request's state."""
    db.session.rollback()
    if not_allowed and action is not None:
        text = _(
            "该申请当前状态为“%(state)s”，不能执行“%(action)s”。", state=req.state.label, action=action.label
        )
    else:
        text = _("该事项已被他人处理，请查看最新状态。")
    return render_template("payment_requests/conflict.html", req=req, text=text), 409


def success(req: PaymentRequest, action: Action) -> Response:
    message = str(DONE_MESSAGES[action])
    role = current_step_role(req)
    if role is not None:
        message += _("下一步：%(role)s审批。", role=role.label)
    elif req.state == State.APPROVED:
        message += _("审批已全部通过，等待出纳支付。")
    flash(message, "success")
    return redirect(url_for("payment_requests.detail", request_id=req.id), 303)


def perform(
    req: PaymentRequest,
    action: Action,
    call: Callable[[str | None], RequestAction | None],
    on_error: Callable[[services.RequestError], Any],
) -> Any:
    """Run one state change from a posted form: replay-safe, one commit, rollback on any error."""
    key = clean_key(request.form.get("client_key"))
    done = handled_by_me(key)
    if done is not None:
        if done.request_id != req.id:
            return conflict(req)
        return success(req, action)
    version = request.form.get("version", "")
    if version.isdigit() and int(version) != req.version:
        return conflict(req)  # the page was out of date: the request moved since it was shown
    try:
        row = call(key)
    except services.RequestError as exc:
        db.session.rollback()
        return on_error(exc)
    except NotAllowed:
        return conflict(req, action, not_allowed=True)
    except Forbidden:
        db.session.rollback()
        abort(403)
    except services.AlreadyHandled:
        db.session.rollback()
        if handled_by_me(key) is not None:
            return success(req, action)
        return conflict(req)
    if row is not None and row.actor_id != current_user.id:
        return conflict(req)  # a key someone else used: nothing was done for this user
    db.session.commit()
    return success(req, action)


def may_take(req: PaymentRequest) -> dict[Action, Role]:
    """The actions open in the request's state that this user may take, with the role they act in."""
    out: dict[Action, Role] = {}
    for action in actions_open(services._facts(req)):
        role = acting_role(current_user, req, action)
        if role is not None:
            out[action] = role
    return out


def route_of(req: PaymentRequest) -> list[dict[str, Any]]:
    """The approval steps of the request (under its policy, or the township's current one for a draft),
    each marked done, current or waiting for the current round."""
    if req.amount is None:
        return []
    policy = req.policy
    if policy is None and req.village.township is not None:
        policy = current_policy(req.village.township)
    steps = rules_of(policy).steps_for(req.amount, req.subject.code if req.subject else None)
    decided = {a.step: a for a in req.actions if a.round == req.round and a.step is not None}
    out = []
    for i, step in enumerate(steps, start=1):
        act = decided.get(i) if req.round else None
        if act is not None:
            status = act.action.value
        elif req.state == State.PENDING and req.step == i:
            status = "current"
        else:
            status = "waiting"
        out.append({"n": i, "role": step.role, "status": status, "action": act})
    return out


def rounds_of(req: PaymentRequest) -> list[tuple[int, list[RequestAction]]]:
    """The history grouped by round (each submission starts one), newest round last."""
    groups: dict[int, list[RequestAction]] = {}
    for a in req.actions:
        groups.setdefault(a.round, []).append(a)
    return sorted(groups.items())


def payment_of(req: PaymentRequest) -> Any:
    from finance.payments.models import Payment

    return db.session.execute(select(Payment).where(Payment.request_id == req.id)).scalar_one_or_none()


def render_detail(
    req: PaymentRequest,
    *,
    errors: dict[str, str] | None = None,
    open_form: str | None = None,
    typed: dict[str, str] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    missing = services.missing_for_submit(req) if req.state in (State.DRAFT, State.RETURNED) else {}
    return render_template(
        "payment_requests/detail.html",
        req=req,
        may=may_take(req),
        route=route_of(req),
        rounds=rounds_of(req),
        missing=missing,
        payment=payment_of(req),
        waiting_role=current_step_role(req),
        errors=errors or {},
        open_form=open_form,
        typed=typed or {},
        new_key=new_key,
        kinds=kind_choices(),
        label=services.attachment_label,
        Action=Action,
    ), status


# ---- the form --------------------------------------------------------------------------------------


def my_village() -> OrgUnit:
    """The village this user raises requests for: their accountant assignment."""
    for a in current_user.assignments:
        if a.role == Role.ACCOUNTANT and a.org_unit.kind == OrgKind.VILLAGE:
            return a.org_unit
    abort(403)


def render_form(
    form: RequestForm,
    req: PaymentRequest | None,
    village: OrgUnit,
    status: int = 200,
    other_errors: dict[str, str] | None = None,
    file_saved: bool = False,
) -> tuple[str, int]:
    returned = None
    if req is not None and req.state == State.RETURNED:
        returned = next((a for a in reversed(req.actions) if a.action == Action.RETURN), None)
    # A file chosen with a form that was refused is gone: the browser will not keep it either.
    reselect = status != 200 and not file_saved and uploaded_file() is not None and not form.file.errors
    return render_template(
        "payment_requests/form.html",
        reselect=reselect,
        form=form,
        req=req,
        village=village,
        returned=returned,
        other_errors=other_errors or {},
        new_key=new_key,
        label=services.attachment_label,
    ), status


def uploaded_files() -> list[FileStorage]:
    """The files posted as "file": from the photo button, the file button, or both (_macros file_picker)."""
    return [upload for upload in request.files.getlist("file") if upload.filename]


def uploaded_file() -> FileStorage | None:
    files = uploaded_files()
    return files[0] if files else None


def attach_upload(req: PaymentRequest, kind_value: str | None, upload: FileStorage) -> Attachment | None:
    """Attach a posted file; None when the very same file of the same kind is already there (a resent
    form). Raises RequestError with the message for the file field."""
    kind = next((k for k in UPLOAD_KINDS if k.value == kind_value), None)
    if kind is None:
        raise services.RequestError(_("请选择附件类型。"), {"file": _("请选择附件类型。")})
    limit = current_app.config["MAX_UPLOAD_BYTES"]
    data = upload.stream.read(limit + 1)
    digest = hashlib.sha256(data).hexdigest()
    if any(a.sha256 == digest and a.kind == kind for a in req.attachments):
        return None
    try:
        return services.add_attachment(current_user, req, kind, os.path.basename(upload.filename or ""), data)
    except storage.StorageError as exc:
        raise services.RequestError(str(exc), {"file": str(exc)}) from None


def save_form(form: RequestForm, req: PaymentRequest | None, village: OrgUnit) -> Any:
    key = clean_key(form.client_key.data)
    if key is None:
        form.client_key.data = key = new_key()
    submitting = request.form.get("action") == "submit"
    if req is None:
        existing = db.session.execute(
            select(PaymentRequest).where(PaymentRequest.client_key == key)
        ).scalar_one_or_none()
        if existing is not None:  # this form was sent before: never a second request
            if existing.requester_id != current_user.id:
                return conflict(existing)
            if not submitting or handled_by_me(key) is not None:
                flash(_("草稿已保存。") if not submitting else str(DONE_MESSAGES[Action.SUBMIT]), "success")
                return redirect(url_for(".detail", request_id=existing.id), 303)
            req = existing
    elif submitting and handled_by_me(key) is not None:
        return success(req, Action.SUBMIT)
    data, errors = form.parse()
    if errors:
        form.add_errors(errors)
        return render_form(form, req, village, FORM_ERROR)
    saved = req  # None on the new page until this unit of work commits
    try:
        if req is None:
            req = services.create_draft(current_user, village, data, client_key=key)
        else:
            services.update_draft(current_user, req, data)
        for file in uploaded_files():
            attach_upload(req, request.form.get("kind"), file)
    except services.RequestError as exc:
        db.session.rollback()
        other = form.add_errors(exc.errors) if exc.errors else {"form": str(exc)}
        return render_form(form, saved, village, FORM_ERROR, other)
    except NotAllowed:
        assert req is not None
        return conflict(req, Action.EDIT, not_allowed=True)
    except Forbidden:
        db.session.rollback()
        abort(403)
    except services.AlreadyHandled:
        db.session.rollback()
        made = db.session.execute(
            select(PaymentRequest).where(PaymentRequest.client_key == key)
        ).scalar_one_or_none()
        if made is not None and made.requester_id == current_user.id:
            return redirect(url_for(".detail", request_id=made.id), 303)
        abort(409)
    db.session.commit()
    if not submitting:
        saved_text = _("修改已保存，尚未重新提交。") if req.state == State.RETURNED else _("草稿已保存。")
        flash(saved_text, "success")
        return redirect(url_for(".detail", request_id=req.id), 303)
    # Submitting is its own unit of work: the draft stays saved even when something is still missing.
    try:
        services.submit(current_user, req, client_key=key)
    except services.RequestError as exc:
        db.session.rollback()
        form.fill_from(req)
        form.client_key.data = key
        other = form.add_errors(exc.errors)
        flash(_("草稿已保存，但还不能提交：请补充标红的项目。"), "error")
        return render_form(form, req, village, FORM_ERROR, other, file_saved=True)
    except NotAllowed:
        return conflict(req, Action.SUBMIT, not_allowed=True)
    except Forbidden:
        db.session.rollback()
        abort(403)
    except services.AlreadyHandled:
        db.session.rollback()
        if handled_by_me(key) is not None:
            return success(req, Action.SUBMIT)
        return conflict(req)
    db.session.commit()
    return success(req, Action.SUBMIT)


@bp.route("/new", methods=["GET", "POST"])
def new() -> Any:
    village = my_village()
    form = RequestForm()
    if request.method == "POST":
        return save_form(form, None, village)
    return render_form(form, None, village)


@bp.route("/<int:request_id>/edit", methods=["GET", "POST"])
def edit(request_id: int) -> Any:
    req = load_visible(request_id)
    if req.state not in (State.DRAFT, State.RETURNED):
        flash(_("该申请当前状态为“%(state)s”，不能修改。", state=req.state.label), "error")
        return redirect(url_for(".detail", request_id=req.id), 303)
    if acting_role(current_user, req, Action.EDIT) is None:
        abort(403)
    form = RequestForm()
    if request.method == "POST":
        return save_form(form, req, req.village)
    form.fill_from(req)
    return render_form(form, req, req.village)


def _attachments_editable(req: PaymentRequest) -> tuple[str, Any]:
    """Where to go back to (the form or the detail page), and a refusal when the request's attachments
    cannot be changed now: 409 outside draft/returned, 403 for anyone but its accountant."""
    back = (
        url_for(".edit", request_id=req.id)
        if request.form.get("back") == "edit"
        else url_for(".detail", request_id=req.id)
    )
    if req.state not in (State.DRAFT, State.RETURNED):
        return back, conflict(req, Action.EDIT, not_allowed=True)
    if acting_role(current_user, req, Action.EDIT) is None:
        abort(403)
    return back, None


@bp.route("/<int:request_id>/attachments", methods=["POST"])
def upload(request_id: int) -> Any:
    req = load_visible(request_id)
    back, refused = _attachments_editable(req)
    if refused is not None:
        return refused
    files = uploaded_files()
    if not files:
        flash(_("请先拍照或选择文件。"), "error")
        return redirect(back, 303)
    try:
        att = [attach_upload(req, request.form.get("kind"), file) for file in files]
    except services.RequestError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(back, 303)
    except (NotAllowed, Forbidden):
        db.session.rollback()
        abort(403)
    db.session.commit()
    flash(_("附件已上传。") if any(a is not None for a in att) else _("该文件已经上传过了。"), "success")
    return redirect(back, 303)


@bp.route("/<int:request_id>/attachments/<int:attachment_id>/delete", methods=["POST"])
def delete_attachment(request_id: int, attachment_id: int) -> Any:
    req = load_visible(request_id)
    att = next((a for a in req.attachments if a.id == attachment_id), None)
    if att is None or att.kind == AttachmentKind.RECEIPT:
        abort(404)
    back, refused = _attachments_editable(req)
    if refused is not None:
        return refused
    try:
        services.remove_attachment(current_user, att)
    except (NotAllowed, Forbidden):
        db.session.rollback()
        abort(403)
    db.session.commit()
    flash(_("附件已删除。"), "success")
    return redirect(back, 303)


def thumbnail_path(att: Attachment) -> Path:
    """A small JPEG for the detail page's thumbnails, made once next to the stored file."""
    original = storage.path_for(att.sha256)
    thumb = original.with_name(original.name + ".thumb.jpg")
    if not thumb.exists():
        with Image.open(original) as img:
            img.draft("RGB", (THUMB_EDGE * 2, THUMB_EDGE * 2))  # JPEG: decode at a reduced scale, fast
            img.thumbnail((THUMB_EDGE, THUMB_EDGE))
            fd, tmp = tempfile.mkstemp(dir=original.parent)
            with os.fdopen(fd, "wb") as fh:
                img.convert("RGB").save(fh, "JPEG", quality=75)
            os.replace(tmp, thumb)
    return thumb


@bp.route("/attachments/<int:attachment_id>")
def attachment(attachment_id: int) -> Response:
    att = db.session.get(Attachment, attachment_id)
    if att is None or get_visible(current_user, att.request_id) is None:
        abort(404)
    is_image = att.content_type.startswith("image/")
    if request.args.get("original") == "1":
        path, mimetype = storage.path_for(att.sha256), att.content_type
    elif request.args.get("size") == "thumb" and is_image:
        path, mimetype = thumbnail_path(att), "image/jpeg"
    else:
        path = storage.display_path(att.sha256, att.content_type)
        mimetype = "image/jpeg" if path.name.endswith(".display.jpg") else att.content_type
    if not path.exists():
        abort(404)
    name = att.filename or "file"
    # Read into memory (at most the upload limit): no file handle outlives the request.
    response = send_file(
        io.BytesIO(path.read_bytes()),
        mimetype=mimetype,
        as_attachment=False,
        download_name=name,
        conditional=True,
        etag=att.sha256 + request.args.get("size", "") + request.args.get("original", ""),
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, max-age=86400"
    response.headers.pop("Expires", None)
    return response


# ---- detail and actions ----------------------------------------------------------------------------


@bp.route("/<int:request_id>")
def detail(request_id: int) -> Any:
    return render_detail(load_visible(request_id))


def _action_view(
    request_id: int,
    action: Action,
    form_name: str,
    call: Callable[[PaymentRequest, str | None], RequestAction | None],
) -> Any:
    req = load_visible(request_id)

    def on_error(exc: services.RequestError) -> Any:
        typed = {"reason": request.form.get("reason", ""), "comment": request.form.get("comment", "")}
        errors = dict(exc.errors) or {"form": str(exc)}
        if action == Action.SUBMIT:
            flash(_("还不能提交：请先补充下面列出的内容。"), "error")
        return render_detail(req, errors=errors, open_form=form_name, typed=typed, status=FORM_ERROR)

    return perform(req, action, lambda key: call(req, key), on_error)


@bp.route("/<int:request_id>/submit", methods=["POST"])
def submit(request_id: int) -> Any:
    return _action_view(
        request_id,
        Action.SUBMIT,
        "submit",
        lambda req, key: services.submit(current_user, req, client_key=key),
    )


@bp.route("/<int:request_id>/approve", methods=["POST"])
def approve(request_id: int) -> Any:
    return _action_view(
        request_id,
        Action.APPROVE,
        "approve",
        lambda req, key: services.approve(current_user, req, request.form.get("comment"), client_key=key),
    )


@bp.route("/<int:request_id>/return", methods=["POST"])
def return_(request_id: int) -> Any:
    return _action_view(
        request_id,
        Action.RETURN,
        "return",
        lambda req, key: services.return_for_revision(
            current_user, req, request.form.get("reason", ""), client_key=key
        ),
    )


@bp.route("/<int:request_id>/reject", methods=["POST"])
def reject(request_id: int) -> Any:
    return _action_view(
        request_id,
        Action.REJECT,
        "reject",
        lambda req, key: services.reject(current_user, req, request.form.get("reason", ""), client_key=key),
    )


@bp.route("/<int:request_id>/withdraw", methods=["POST"])
def withdraw(request_id: int) -> Any:
    return _action_view(
        request_id,
        Action.WITHDRAW,
        "withdraw",
        lambda req, key: services.withdraw(current_user, req, client_key=key),
    )


# ---- the list ----------------------------------------------------------------------------------------


def encode_after(req: PaymentRequest) -> str:
    at = req.created_at.astimezone(UTC)
    micros = int(at.timestamp()) * 1_000_000 + at.microsecond
    return f"{micros}-{req.id}"


def decode_after(token: str | None) -> tuple[datetime, int] | None:
    try:
        micros_text, id_text = (token or "").split("-", 1)
        micros, rid = int(micros_text), int(id_text)
        at = datetime.fromtimestamp(micros // 1_000_000, UTC).replace(microsecond=micros % 1_000_000)
    except (ValueError, OverflowError, OSError):
        return None
    return at, rid


@bp.route("")
def list_requests() -> Any:
    if not can(current_user, Permission.REQUEST_READ):
        abort(404)  # the district admin reads no requests: say so rather than show "no requests yet"
    form = FilterForm(formdata=request.args)
    villages = (
        db.session.execute(
            select(OrgUnit)
            .where(OrgUnit.id.in_(jurisdiction(current_user)), OrgUnit.kind == OrgKind.VILLAGE)
            .order_by(OrgUnit.code)
        )
        .scalars()
        .all()
    )
    form.state.choices = [("", _("全部状态"))] + [(s.value, s.label) for s in State]
    form.village.choices = [("", _("全部村"))] + [(str(v.id), v.name) for v in villages]
    errors: dict[str, str] = {}
    state = next((s for s in State if s.value == form.state.data), None)
    village_id = next((v.id for v in villages if str(v.id) == form.village.data), None)
    dates: dict[str, date | None] = {}
    for name in ("date_from", "date_to"):
        try:
            dates[name] = parse_date(getattr(form, name).data)
        except ValueError as exc:
            errors[name] = str(exc)
            dates[name] = None
    amounts: dict[str, Decimal | None] = {}
    for name in ("amount_min", "amount_max"):
        raw = (getattr(form, name).data or "").strip()
        amounts[name] = None
        if raw:
            try:
                amounts[name] = parse_amount(raw, current_app.config["MAX_AMOUNT"])
            except AmountError as exc:
                errors[name] = str(exc)
    for name, message in errors.items():
        getattr(form, name).errors = [message]
    payee = (form.payee.data or "").strip()[:100] or None
    size = int(current_app.config.get("PAGE_SIZE", 20))
    after = decode_after(request.args.get("after"))
    rows = search(
        current_user,
        states=[state] if state else None,
        village_id=village_id,
        date_from=dates["date_from"],
        date_to=dates["date_to"],
        amount_min=amounts["amount_min"],
        amount_max=amounts["amount_max"],
        payee=payee,
        after=after,
        limit=size + 1,
    )
    more_url = None
    if len(rows) > size:
        rows = rows[:size]
        args: dict[str, Any] = {k: v for k, v in request.args.items() if k != "after" and v}
        more_url = url_for(".list_requests", **args, after=encode_after(rows[-1]))
    filtered = any(v for k, v in request.args.items() if k != "after")
    total = None
    if after is None and not filtered:
        total = db.session.execute(
            select(func.count(PaymentRequest.id)).where(
                PaymentRequest.village_id.in_(jurisdiction(current_user))
            )
        ).scalar_one()
    return render_template(
        "payment_requests/list.html",
        form=form,
        rows=rows,
        more_url=more_url,
        filtered=filtered,
        paged=after is not None,
        total=total,
        show_village=len(villages) > 1,
    )
