"""Pages: a person's notice settings (/notices/settings) and, for the district admin, the deliveries that
failed with their reasons and each township's reminder policy (/notices/admin)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.wrappers import Response

from finance.extensions import db
from finance.notices import queries, services
from finance.notices.models import Channel, DeliveryState, NoticeDelivery, NoticeSetting
from finance.notices.outbox import channels_for
from finance.orgs.models import OrgUnit
from finance.permissions import Forbidden, Permission, can, jurisdiction
from finance.roles import OrgKind, Role

bp = Blueprint("notices", __name__, url_prefix="/notices")
FORM_ERROR = 422


def _form_of(setting: NoticeSetting | None) -> dict[str, Any]:
    """The settings as the form shows them; without a row, the default (SMS to the account's phone)."""
    user = current_user
    if setting is None:
        return {"sms_on": bool(user.phone), "mobile": user.phone or "", "quiet_on": False,
                "quiet_start": "22:00", "quiet_end": "07:00"}
    return {
        "email_on": setting.email_on, "sms_on": setting.sms_on, "wecom_on": setting.wecom_on,
        "dingtalk_on": setting.dingtalk_on, "email": setting.email or "",
        "mobile": setting.mobile or user.phone or "", "wecom_key": setting.wecom_key or "",
        "dingtalk_token": setting.dingtalk_token or "", "dingtalk_secret": setting.dingtalk_secret or "",
        "quiet_on": setting.quiet_start is not None,
        "quiet_start": services.clock(setting.quiet_start) or "22:00",
        "quiet_end": services.clock(setting.quiet_end) or "07:00",
    }


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
def settings() -> Any:
    setting = db.session.get(NoticeSetting, current_user.id)
    if request.method == "POST":
        data = _input_from(request.form)
        try:
            services.save_settings(current_user, data)
        except services.SettingsError as exc:
            db.session.rollback()
            form = {k: v for k, v in vars(data).items()}
            return render_template("notices/settings.html", form=form, errors=exc.errors, message=str(exc),
                                   active=[], Channel=Channel), FORM_ERROR
        db.session.commit()
        flash(_("通知设置已保存。"), "success")
        return redirect(url_for("notices.settings"), 303)
    active = channels_for(current_user, setting)
    return render_template("notices/settings.html", form=_form_of(setting), errors={}, message=None,
                           active=active, Channel=Channel)


def _admin_only() -> None:
    if not can(current_user, Permission.POLICY_MANAGE):
        abort(404)


def _townships() -> list[OrgUnit]:
    return list(db.session.execute(
        select(OrgUnit).where(OrgUnit.kind == OrgKind.TOWNSHIP,
                              OrgUnit.id.in_(jurisdiction(current_user, frozenset({Role.ADMIN}))))
        .order_by(OrgUnit.code)
    ).scalars())


def render_admin(errors: dict[int, dict[str, str]] | None = None, typed: dict[int, dict[str, str]] | None = None,
                 status: int = 200) -> tuple[str, int]:
    townships = _townships()
    return render_template(
        "notices/admin.html",
        failures=queries.failed_deliveries(current_user),
        counts=queries.delivery_counts(),
        policies=[(t, services.policy_of(t)) for t in townships],
        errors=errors or {},
        typed=typed or {},
        DeliveryState=DeliveryState,
    ), status


@bp.route("/admin")
@login_required
def admin() -> Any:
    _admin_only()
    return render_admin()


def _int(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() and len(value) <= 3 else None


@bp.route("/admin/townships/<int:township_id>", methods=["POST"])
@login_required
def set_policy(township_id: int) -> Any:
    _admin_only()
    township = db.session.get(OrgUnit, township_id)
    if township is None or township.kind != OrgKind.TOWNSHIP or not can(current_user, Permission.POLICY_MANAGE,
                                                                           township):
        abort(404)
    remind_raw, escalate_raw = request.form.get("remind_after", ""), request.form.get("escalate_after", "")
    try:
        services.set_policy(current_user, township, _int(remind_raw), _int(escalate_raw))
    except services.SettingsError as exc:
        db.session.rollback()
        return render_admin({township.id: exc.errors},
                            {township.id: {"remind_after": remind_raw, "escalate_after": escalate_raw}}, FORM_ERROR)
    except Forbidden:
        abort(404)
    db.session.commit()
    flash(_("%(name)s的催办规则已保存。", name=township.name), "success")
    return redirect(url_for("notices.admin"), 303)


@bp.route("/admin/deliveries/<int:delivery_id>/retry", methods=["POST"])
@login_required
def retry(delivery_id: int) -> Response:
    _admin_only()
    delivery = db.session.get(NoticeDelivery, delivery_id)
    if delivery is None or delivery not in queries.failed_deliveries(current_user, limit=1000):
        abort(404)
    services.retry_delivery(current_user, delivery)
    db.session.commit()
    flash(_("已重新排队发送。"), "success")
    return redirect(url_for("notices.admin"), 303)
