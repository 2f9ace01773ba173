"""Pages: a person's notice settings (/notices/settings) and, for the district admin, the deliveries that
failed with their reasons and each township's reminder policy (/notices/admin)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from finance.errors import InputError
from finance.extensions import db
from finance.notices import queries, services, workdays
from finance.notices.models import Channel, DeliveryState, NoticeSetting
from finance.notices.outbox import channels_for
from finance.orgs.models import OrgUnit
from finance.permissions import Permission, can
from finance.timefmt import today_local
from finance.web import see_other, write

bp = Blueprint("notices", __name__, url_prefix="/notices")


def _input_from(form: Any) -> services.SettingsInput:
    def on(name: str) -> bool:
        return form.get(name) in ("1", "on", "y")

    def text(name: str, limit: int = 200) -> str:
        return (form.get(name) or "")[:limit]

    return services.SettingsInput(
        email_on=on("email_on"), sms_on=on("sms_on"), wecom_on=on("wecom_on"), dingtalk_on=on("dingtalk_on"),
        email=text("email", 300), mobile=text("mobile", 30), wecom_key=text("wecom_key"),
        dingtalk_token=text("dingtalk_token"), dingtalk_secret=text("dingtalk_secret"), quiet_on=on("quiet_on"),
        quiet_start=text("quiet_start", 10), quiet_end=text("quiet_end", 10),
    )


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings() -> ResponseReturnValue:
    if request.method == "POST":
        data = _input_from(request.form)

        def refused(exc: InputError) -> str:
            errors = exc.errors
            return render_template("notices/settings.html", form=dict(vars(data)), errors=errors,
                                   message=str(exc), active=[], Channel=Channel)

        return write(lambda: services.save_settings(current_user, data),
                     done=lambda _s: see_other(url_for("notices.settings"), _("通知设置已保存。")),
                     invalid=refused)
    setting = db.session.get(NoticeSetting, current_user.id)
    return render_template("notices/settings.html", form=services.settings_form(current_user, setting), errors={},
                           message=None, active=channels_for(current_user, setting), Channel=Channel)


def _admin_only() -> None:
    if not can(current_user, Permission.POLICY_MANAGE):
        abort(404)


def render_admin(errors: dict[int, dict[str, str]] | None = None,
                 typed: dict[int, dict[str, str]] | None = None) -> str:
    return render_template(
        "notices/admin.html",
        failures=queries.failed_deliveries(current_user),
        counts=queries.delivery_counts(),
        policies=[(t, services.policy_of(t)) for t in queries.admin_townships(current_user)],
        errors=errors or {},
        typed=typed or {},
        DeliveryState=DeliveryState,
        provisional=workdays.provisional_years(today_local()),
    )


@bp.route("/admin")
@login_required
def admin() -> ResponseReturnValue:
    _admin_only()
    return render_admin()


def _int(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() and len(value) <= 3 else None


@bp.route("/admin/townships/<int:township_id>", methods=["POST"])
@login_required
def set_policy(township_id: int) -> ResponseReturnValue:
    _admin_only()
    township = db.session.get(OrgUnit, township_id)
    remind_raw, escalate_raw = request.form.get("remind_after", ""), request.form.get("escalate_after", "")
    return write(
        lambda: services.set_policy(current_user, township, _int(remind_raw), _int(escalate_raw)),
        done=lambda _p: see_other(url_for("notices.admin"),
                                  _("%(name)s的催办规则已保存。", name=township.name if township else "")),
        invalid=lambda exc: render_admin({township_id: exc.errors},
                                         {township_id: {"remind_after": remind_raw, "escalate_after": escalate_raw}}),
    )


@bp.route("/admin/deliveries/<int:delivery_id>/retry", methods=["POST"])
@login_required
def retry(delivery_id: int) -> ResponseReturnValue:
    _admin_only()
    delivery = queries.failed_delivery(current_user, delivery_id)
    return write(lambda: services.retry_delivery(current_user, delivery),
                 done=lambda _n: see_other(url_for("notices.admin"), _("已重新排队发送。")))
