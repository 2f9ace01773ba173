"""The request form: a new request, or a draft or returned request edited, with a photo attached on the
way; "save and submit" submits it as a second unit of work, so the draft stays saved when something is
still missing."""

from __future__ import annotations

import os

from flask import abort, current_app, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import FileStorage

from finance.attachment_kinds import AttachmentKind
from finance.errors import Forbidden, InputError
from finance.orgs.models import OrgUnit
from finance.payment_requests import route, services
from finance.payment_requests.forms import RequestForm, clean_key, new_key
from finance.payment_requests.models import PaymentRequest
from finance.payment_requests.pages import conflict_page, done, load_visible, refuse_for_role
from finance.payment_requests.views.blueprint import bp
from finance.roles import OrgKind, Role
from finance.web import FORM_ERROR, see_other, write
from finance.workflow import Action, NotAllowed


def my_village() -> OrgUnit:
    """The village this user raises requests for: their accountant assignment."""
    for a in current_user.assignments:
        if a.role == Role.ACCOUNTANT and a.org_unit.kind == OrgKind.VILLAGE:
            return a.org_unit
    abort(403)


def uploaded_files() -> list[FileStorage]:
    """The files posted as "file": from the photo button, the file button, or both (_macros file_picker)."""
    return [upload for upload in request.files.getlist("file") if upload.filename]


def read_upload(upload: FileStorage) -> bytes:
    """The posted file's bytes, one past the limit at most (the service refuses a file that long)."""
    return upload.stream.read(current_app.config["MAX_UPLOAD_BYTES"] + 1)


def read_uploads(uploads: list[FileStorage]) -> list[tuple[str, bytes]]:
    """(file name, bytes) of each posted file, as services.add_attachments takes them."""
    return [(os.path.basename(upload.filename or ""), read_upload(upload)) for upload in uploads]


def render_form(form: RequestForm, req: PaymentRequest | None, village: OrgUnit,
                other_errors: dict[str, str] | None = None, refused: bool = False) -> str:
    # A file chosen with a form that was refused is gone: the browser will not keep it either.
    reselect = refused and bool(uploaded_files()) and not form.file.errors
    return render_template(
        "payment_requests/form.html",
        reselect=reselect,
        form=form,
        req=req,
        village=village,
        returned=route.last_return(req) if req is not None else None,
        other_errors=other_errors or {},
        new_key=new_key,
    )


def save_form(form: RequestForm, req: PaymentRequest | None, village: OrgUnit) -> ResponseReturnValue:
    key = clean_key(form.client_key.data)
    if key is None:
        form.client_key.data = key = new_key()
    submitting = request.form.get("action") == "submit"
    data, errors = form.parse()
    if errors:
        form.add_errors(errors)
        return render_form(form, req, village, refused=True), FORM_ERROR
    uploads = uploaded_files()

    def save() -> PaymentRequest:
        saved = req
        if saved is None:
            saved = services.create_draft(current_user, village, data, client_key=key)
        else:
            services.update_draft(current_user, saved, data, client_key=key)
        if uploads:
            services.add_attachments(current_user, saved, AttachmentKind.parse(request.form.get("kind")),
                                     read_uploads(uploads))
        return saved

    def refused(exc: InputError) -> str:
        other = form.add_errors(exc.errors) if exc.errors else {"form": str(exc)}
        return render_form(form, req, village, other, refused=True)

    def saved_page(saved: PaymentRequest) -> ResponseReturnValue:
        if not submitting:
            text = _("修改已保存，尚未重新提交。") if saved.state.submitted else _("草稿已保存。")
            return see_other(url_for(".detail", request_id=saved.id), text)
        return write(lambda: services.submit(current_user, saved, client_key=key),
                     done=lambda _row: done(saved, Action.SUBMIT),
                     invalid=lambda exc: not_yet(saved, exc),
                     conflict=conflict_page(saved))

    return write(save, done=saved_page, invalid=refused,
                 conflict=conflict_page(req) if req is not None else None)


NOT_YET = "sanzi_not_yet"  # the session's note of what a saved draft still needs, for its edit page


def not_yet(req: PaymentRequest, exc: InputError) -> ResponseReturnValue:
    """The draft is saved, but submitting needs more: to the draft's own address (issue 16 item 8: a
    reload then shows the saved draft, never an empty form inviting a duplicate), which shows what is
    missing once."""
    session[NOT_YET] = {"id": req.id, "errors": {str(k): str(v) for k, v in exc.errors.items()}
                        or {"form": str(exc)}}
    return see_other(url_for(".edit", request_id=req.id), _("草稿已保存，但还不能提交：请补充标红的项目。"),
                     "error")


def _not_yet_errors(form: RequestForm, req: PaymentRequest) -> dict[str, str] | None:
    """What `not_yet` noted for this draft, marked on the form; None when nothing was noted."""
    noted = session.pop(NOT_YET, None)
    if not isinstance(noted, dict) or noted.get("id") != req.id or not isinstance(noted.get("errors"), dict):
        return None
    return form.add_errors({str(k): str(v) for k, v in noted["errors"].items()})


@bp.route("/new", methods=["GET", "POST"])
def new() -> ResponseReturnValue:
    village = my_village()
    form = RequestForm()
    if request.method == "POST":
        return save_form(form, None, village)
    return render_form(form, None, village)


@bp.route("/<int:request_id>/edit", methods=["GET", "POST"])
def edit(request_id: int) -> ResponseReturnValue:
    req = load_visible(request_id)
    form = RequestForm()
    if request.method == "POST":
        return save_form(form, req, req.village)
    try:
        services.check(current_user, req, Action.EDIT)
    except NotAllowed:
        return see_other(url_for(".detail", request_id=req.id),
                         _("该申请当前状态为“%(state)s”，不能修改。", state=req.state.label), "error")
    except Forbidden:
        refuse_for_role(req, Action.EDIT)
    form.fill_from(req)
    if (kind := AttachmentKind.parse(request.args.get("kind"))) is not None:
        form.kind.data = kind.value  # kept from a refused upload (issue 16 item 6)
    return render_form(form, req, req.village, _not_yet_errors(form, req))
