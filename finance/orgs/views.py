"""District admin pages: org units, users and roles, routing policies."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_login import current_user, login_required
from sqlalchemy import select

from finance.extensions import db
from finance.orgs.models import OrgUnit
from finance.permissions import Permission, can, jurisdiction
from finance.roles import Role

bp = Blueprint("orgs", __name__, url_prefix="/admin")


@bp.before_request
@login_required
def _admins_only() -> None:
    if not can(current_user, Permission.ORG_MANAGE):
        abort(404)


@bp.route("/")
def index() -> str:
    units = db.session.execute(
        select(OrgUnit).where(OrgUnit.id.in_(jurisdiction(current_user, {Role.ADMIN}))).order_by(OrgUnit.path)
    ).scalars().all()
    return render_template("orgs/index.html", units=units)
