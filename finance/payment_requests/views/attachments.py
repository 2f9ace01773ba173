"""A request's attachments: upload one (from the detail page or the form), delete one, and the files
themselves (original, display size, thumbnail)."""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

from flask import abort, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from PIL import Image
from werkzeug.wrappers import Response

from finance import storage
from finance.attachment_kinds import AttachmentKind
from finance.extensions import db
from finance.payment_requests import services
from finance.payment_requests.models import Attachment
from finance.payment_requests.pages import conflict_page, load_visible
from finance.payment_requests.queries import get_visible
from finance.payment_requests.views.blueprint import bp
from finance.payment_requests.views.form import read_upload, uploaded_file
from finance.web import see_other, write

THUMB_EDGE = 360


def _back(request_id: int) -> str:
    """Where the page that posted goes back to: the form or the detail page."""
    if request.form.get("back") == "edit":
        return url_for(".edit", request_id=request_id)
    return url_for(".detail", request_id=request_id)


@bp.route("/<int:request_id>/attachments", methods=["POST"])
def upload(request_id: int) -> ResponseReturnValue:
    req = load_visible(request_id)
    back = _back(req.id)
    file = uploaded_file()
    if file is None:
        return see_other(back, _("请先拍照或选择文件。"), "error")
    kind = AttachmentKind.parse(request.form.get("kind"))
    name = os.path.basename(file.filename or "")
    return write(
        lambda: services.add_attachment(current_user, req, kind, name, read_upload(file)),
        done=lambda att: see_other(back, _("附件已上传。") if att is not None else _("该文件已经上传过了。")),
        back=back,
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
