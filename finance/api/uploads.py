"""Files posted to the API (multipart/form-data), read as the pages read theirs: the name without its
folders, the bytes up to one past the upload limit (the services refuse a file that long)."""

from __future__ import annotations

import os

from flask import current_app, request
from flask_babel import gettext as _

from finance.api.problems import Problem, ProblemType


def read_files(names: tuple[str, ...]) -> dict[str, list[tuple[str, bytes]]]:
    """For each file field: its files as (file name, bytes); a field without a file is a 422 naming it."""
    limit = current_app.config["MAX_UPLOAD_BYTES"]
    out: dict[str, list[tuple[str, bytes]]] = {}
    missing: dict[str, str] = {}
    for name in names:
        uploads = [u for u in request.files.getlist(name) if u.filename]
        if not uploads:
            missing[name] = _("请附上文件。")
            continue
        out[name] = [(os.path.basename(u.filename or ""), u.stream.read(limit + 1)) for u in uploads]
    if missing:
        raise Problem(ProblemType.INVALID_INPUT, _("请附上文件。"), missing)
    return out
