"""The home page: the user's to-do list (待办) and what they can start from here."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from finance.oversight.queries import open_questions_for
from finance.payment_requests.queries import inbox_for

bp = Blueprint("home", __name__)


@bp.route("/")
@login_required
def index() -> str:
    return render_template("home/index.html", inbox=inbox_for(current_user),
                           open_questions=open_questions_for(current_user))
