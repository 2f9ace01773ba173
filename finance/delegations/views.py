"""Pages: a person's delegations and the form to name a delegate (/delegations), ending one early, and
the district admin's list of every delegation (/delegations/admin)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Blueprint, abort, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from finance.delegations import queries, services
from finance.delegations.services import DelegationInput
from finance.errors import InputError
from finance.permissions import Permission, can
from finance.timefmt import today_local
from finance.web import see_other, write

bp = Blueprint("delegations", __name__, url_prefix="/delegations")


def _date(text: str | None) -> date | None:
    try:
        return date.fromisoformat((text or "").strip()[:10])
    except ValueError:
        return None


def _int(text: str | None) -> int | None:
    text = (text or "").strip()
    return int(text) if text.isdigit() and len(text) <= 9 else None


def _input_from(form: Any) -> DelegationInput:
    ids = [i for i in (_int(v) for v in form.getlist("villages")[:200]) if i is not None]
    return DelegationInput(role=(form.get("role") or "")[:32], delegate_id=_int(form.get("delegate")),
                           village_ids=ids, starts_on=_date(form.get("starts_on")),
                           ends_on=_date(form.get("ends_on")))


def _page(form: dict[str, Any], errors: dict[str, str], message: str | None) -> str:
    roles = services.delegable_roles(current_user)
    return render_template(
        "delegations/index.html",
        delegations=queries.mine(current_user), roles=roles,
        villages={r: services.own_villages(current_user, r) for r in roles},
        colleagues=services.colleagues(current_user) if roles else [],
        form=form, errors=errors, message=message, today=today_local(),
        may_end=lambda d: services.may_end(current_user, d),
    )


@bp.route("", methods=["GET", "POST"])
@login_required
def index() -> ResponseReturnValue:
    if request.method == "POST":
        if not services.delegable_roles(current_user):
            abort(404)  # nothing to delegate (a liaison, an accountant): the form is not there for them
        data = _input_from(request.form)

        def refused(exc: InputError) -> str:
            form = {"role": data.role, "delegate": data.delegate_id, "villages": set(data.village_ids),
                    "starts_on": request.form.get("starts_on", "")[:10],
                    "ends_on": request.form.get("ends_on", "")[:10]}
            return _page(form, exc.errors, str(exc))

        return write(lambda: services.create(current_user, data),
                     done=lambda d: see_other(url_for("delegations.index"),
                                              _("已委托%(name)s代您审批。", name=d.delegate.display_name)),
                     invalid=refused)
    roles = services.delegable_roles(current_user)
    today = today_local()
    form: dict[str, Any] = {"role": roles[0].value if len(roles) == 1 else "", "delegate": None, "villages": set(),
            "starts_on": today.isoformat(), "ends_on": (today + timedelta(days=6)).isoformat()}
    return _page(form, {}, None)


@bp.route("/<int:delegation_id>/end", methods=["POST"])
@login_required
def end(delegation_id: int) -> ResponseReturnValue:
    d = queries.get(delegation_id)
    back = url_for("delegations.admin") if request.form.get("from") == "admin" else url_for("delegations.index")
    return write(lambda: services.end(current_user, d),
                 done=lambda _d: see_other(back, _("委托已结束。")))


@bp.route("/admin")
@login_required
def admin() -> ResponseReturnValue:
    if not can(current_user, Permission.USER_MANAGE):
        abort(404)
    return render_template("delegations/admin.html", delegations=queries.for_admin(current_user),
                           today=today_local(), may_end=lambda d: services.may_end(current_user, d))
