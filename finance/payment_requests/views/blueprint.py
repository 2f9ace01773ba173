"""The blueprint every request page registers on (signed-in users only)."""

from __future__ import annotations

from flask import Blueprint
from flask_login import login_required

bp = Blueprint("payment_requests", __name__, url_prefix="/requests")


@bp.before_request
@login_required
def _signed_in() -> None:
    return None
