"""A request's attachments: upload one (from the detail page or the form), delete one, and the files
themselves (original, display size, thumbnail)."""

from __future__ import annotations

from typing import Any

from flask import abort, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from finance import storage
from finance.attachment_kinds import AttachmentKind
from finance.extensions import db
from finance.payment_requests import services
from finance.payment_requests.models import Attachment
from finance.payment_requests.pages import conflict_page, load_visible
from finance.payment_requests.queries import get_visible
from finance.payment_requests.views.blueprint import bp
from finance.payment_requests.views.form import read_uploads, uploaded_files
from finance.security import send_user_file
from finance.web import see_other, write


def _back(request_id: int, kind: AttachmentKind | None = None) -> str:
    """Where the page that posted goes back to: the form or the detail page; with the 附件类型 chosen
    when an upload was refused, so the next file is not filed under the wrong kind (issue 16 item 6)."""
    args: dict[str, Any] = {"kind": kind.value} if kind is not None else {}
    if request.form.get("back") == "edit":
        return url_for(".edit", request_id=request_id, **args)
    return url_for(".detail", request_id=request_id, **args) + ("#attachments" if args else "")


@bp.route("/<int:request_id>/attachments", methods=["POST"])
def upload(request_id: int) -> ResponseReturnValue:
    req = load_visible(request_id)
    back = _back(req.id)
    files = uploaded_files()
    if not files:
        return see_other(_back(req.id, AttachmentKind.parse(request.form.get("kind"))), _("请先拍照或选择文件。"),
                         "error")
    kind = AttachmentKind.parse(request.form.get("kind"))
    return write(
        lambda: services.add_attachments(current_user, req, kind, read_uploads(files)),
        done=lambda added: see_other(back, _("附件已上传。") if any(a is not None for a in added)
                                     else _("该文件已经上传过了。")),
        back=_back(req.id, kind),
        conflict=conflict_page(req),
    )


@bp.route("/<int:request_id>/attachments/<int:attachment_id>/delete", methods=["POST"])
def delete_attachment(request_id: int, attachment_id: int) -> ResponseReturnValue:
    req = load_visible(request_id)
    att = next((a for a in req.attachments if a.id == attachment_id), None)
    if att is None:
        abort(404)
    back = _back(req.id)
    return write(lambda: services.remove_attachment(current_user, att), done=lambda _none: see_other(
        back, _("附件已删除。")), back=back, conflict=conflict_page(req))


@bp.route("/attachments/<int:attachment_id>")
def attachment(attachment_id: int) -> Response:
    att = db.session.get(Attachment, attachment_id)
    if att is None or get_visible(current_user, att.request_id) is None:
        abort(404)
    is_image = att.content_type.startswith("image/")
    if request.args.get("original") == "1":
        path, mimetype = storage.path_for(att.sha256), att.content_type
    elif request.args.get("size") == "thumb" and is_image:
        path = storage.thumbnail_path(att.sha256, att.content_type)
        mimetype = "image/jpeg" if path.name.endswith(".thumb.jpg") else att.content_type
    else:
        path = storage.display_path(att.sha256, att.content_type)
        mimetype = "image/jpeg" if path.name.endswith(".display.jpg") else att.content_type
    if not path.exists():
        abort(404)
    # Read into memory (at most the upload limit): no file handle outlives the request.
    return send_user_file(path.read_bytes(), content_type=mimetype, filename=att.filename or "file",
                          fallback_stem=f"sanzi-attachment-{att.id}",
                          etag=att.sha256 + request.args.get("size", "") + request.args.get("original", ""))
