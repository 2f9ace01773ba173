"""A bank-receipt photo kept across a refused pay form (issue 16 item 11).

A browser does not keep a chosen file when the page comes back with a mistake, and on a rural uplink
choosing and sending the photo again costs minutes. So the receipt of a refused form is stored (content
addressed, like every file, and attached to nothing yet) and the page carries a signed token naming it:
bound to the cashier and the request, valid for a day. The next send of the form uses it unless another
file is chosen. A token cannot name any other stored file: it is signed with the app's secret."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadData, URLSafeTimedSerializer

from finance import storage

SALT = "sanzi-pending-receipt"
MAX_AGE = 24 * 3600


@dataclass(frozen=True)
class Pending:
    token: str
    filename: str
    size: int


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def keep(user_id: int, request_id: int, filename: str, data: bytes) -> Pending | None:
    """Store the receipt of a refused form; None when the file itself is not acceptable (its message is
    the form's)."""
    try:
        stored = storage.save(data)
    except storage.StorageError:
        return None
    token = _serializer().dumps({"s": stored.sha256, "n": filename[-200:], "u": user_id, "r": request_id})
    return Pending(token, filename, stored.size)


def take(token: str | None, user_id: int, request_id: int) -> tuple[Pending, bytes] | None:
    """The kept receipt a form names, when the token is this cashier's for this request and the file is
    still there; None otherwise (the form then asks for the receipt as if none was kept)."""
    if not token or len(token) > 1000:
        return None
    try:
        data = _serializer().loads(token, max_age=MAX_AGE)
        if data["u"] != user_id or data["r"] != request_id:
            return None
        path = storage.path_for(str(data["s"]))
        content = path.read_bytes()
    except (BadData, KeyError, TypeError, storage.StorageError, OSError):
        return None
    if storage.digest(content) != data["s"]:
        return None
    return Pending(token, str(data["n"]), len(content)), content
