"""What the notices pages call to change things: a person's notice settings, a township's reminder
policy, sending a failed delivery again. Each change records one audit event; nothing here commits.
(Other packages alert the agency through `finance.notices.dispatch.alert_agency`.)"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from finance import trail
from finance.auth.models import User
from finance.db import utcnow
from finance.errors import Forbidden, InputError, NotFound
from finance.extensions import db
from finance.notices.models import (
    ESCALATE_AFTER_DEFAULT,
    REMIND_AFTER_DEFAULT,
    Channel,
    DeliveryState,
    NoticeDelivery,
    NoticePolicy,
    NoticeSetting,
)
from finance.orgs.models import OrgUnit
from finance.permissions import Permission, can
from finance.roles import OrgKind, Role
from finance.trail import AuditAction, AuditSubject

MAX_POLICY_DAYS = 30


class SettingsError(InputError):
    """Notice settings or a reminder policy the user must correct (field name -> message)."""


# ---- a person's settings ------------------------------------------------------------------------------

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MOBILE_RE = re.compile(r"^1\d{10}$")
ROBOT_KEY_RE = re.compile(r"^[A-Za-z0-9_-]{8,100}$")


@dataclass
class SettingsInput:
    email_on: bool = False
    sms_on: bool = False
    wecom_on: bool = False
    dingtalk_on: bool = False
    email: str = ""
    mobile: str = ""
    wecom_key: str = ""
    dingtalk_token: str = ""
    dingtalk_secret: str = ""
    quiet_on: bool = False
    quiet_start: str = ""  # "HH:MM"
    quiet_end: str = ""


def parse_clock(text: str) -> int | None:
    """"22:00" -> minutes after midnight; None when it is not a time of day."""
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", (text or "").strip())
    if not match:
        return None
    hours, minutes = int(match.group(1)), int(match.group(2))
    if hours > 23 or minutes > 59:
        return None
    return hours * 60 + minutes


def clock(minutes: int | None) -> str:
    return "" if minutes is None else f"{minutes // 60:02d}:{minutes % 60:02d}"


def settings_form(user: User, setting: NoticeSetting | None) -> dict[str, Any]:
    """A person's settings as the page's form and the API show them; without a row, the default (SMS to
    the account's phone)."""
    if setting is None:
        return {"email_on": False, "sms_on": bool(user.phone), "wecom_on": False, "dingtalk_on": False,
                "email": "", "mobile": user.phone or "", "wecom_key": "", "dingtalk_token": "",
                "dingtalk_secret": "", "quiet_on": False, "quiet_start": "22:00", "quiet_end": "07:00"}
    return {
        "email_on": setting.email_on, "sms_on": setting.sms_on, "wecom_on": setting.wecom_on,
        "dingtalk_on": setting.dingtalk_on, "email": setting.email or "",
        "mobile": setting.mobile or user.phone or "", "wecom_key": setting.wecom_key or "",
        "dingtalk_token": setting.dingtalk_token or "", "dingtalk_secret": setting.dingtalk_secret or "",
        "quiet_on": setting.quiet_start is not None,
        "quiet_start": clock(setting.quiet_start) or "22:00",
        "quiet_end": clock(setting.quiet_end) or "07:00",
    }


def settings_errors(data: SettingsInput) -> dict[str, str]:
    errors: dict[str, str] = {}
    email, mobile = data.email.strip(), data.mobile.replace(" ", "").strip()
    if email and (len(email) > 254 or not EMAIL_RE.match(email)):
        errors["email"] = _("电子邮件地址格式不正确。")
    elif data.email_on and not email:
        errors["email"] = _("选择电子邮件时请填写邮件地址。")
    if mobile and not MOBILE_RE.match(mobile):
        errors["mobile"] = _("请填写 11 位手机号码。")
    elif data.sms_on and not mobile:
        errors["mobile"] = _("选择短信时请填写手机号码。")
    for name, on, message in (("wecom_key", data.wecom_on, _("选择企业微信群机器人时请填写机器人 key。")),
                              ("dingtalk_token", data.dingtalk_on, _("选择钉钉群机器人时请填写 access_token。"))):
        value = getattr(data, name).strip()
        if value and not ROBOT_KEY_RE.match(value):
            errors[name] = _("只能包含字母、数字、下划线和短横线（8 到 100 位）。")
        elif on and not value:
            errors[name] = message
    secret = data.dingtalk_secret.strip()
    if secret and not re.fullmatch(r"[A-Za-z0-9]{8,100}", secret):
        errors["dingtalk_secret"] = _("加签密钥格式不正确。")
    if data.quiet_on:
        start, end = parse_clock(data.quiet_start), parse_clock(data.quiet_end)
        if start is None:
            errors["quiet_start"] = _("请填写开始时间，如 22:00。")
        if end is None:
            errors["quiet_end"] = _("请填写结束时间，如 07:00。")
        if start is not None and end is not None and start == end:
            errors["quiet_end"] = _("结束时间不能与开始时间相同。")
    return errors


def settings_summary(setting: NoticeSetting) -> dict[str, object]:
    """What the trail records of a person's settings: channels and quiet hours, not the addresses."""
    return {
        "channels": [c.value for c, on in ((Channel.EMAIL, setting.email_on), (Channel.SMS, setting.sms_on),
                                           (Channel.WECOM, setting.wecom_on), (Channel.DINGTALK, setting.dingtalk_on))
                     if on],
        "quiet_hours": (f"{clock(setting.quiet_start)}-{clock(setting.quiet_end)}"
                        if setting.quiet_start is not None else None),
    }


def save_settings(user: User, data: SettingsInput) -> NoticeSetting:
    """Save a person's own channels, addresses and quiet hours (one `notice_settings` event)."""
    errors = settings_errors(data)
    if errors:
        first = next(iter(errors.values()))
        raise SettingsError(first if len(errors) == 1 else _("还有内容需要修改，请检查标红的项目。"), errors)
    setting = db.session.get(NoticeSetting, user.id)
    before = settings_summary(setting) if setting is not None else None
    if setting is None:
        setting = NoticeSetting(user_id=user.id)
        db.session.add(setting)
    setting.email_on, setting.sms_on = data.email_on, data.sms_on
    setting.wecom_on, setting.dingtalk_on = data.wecom_on, data.dingtalk_on
    setting.email = data.email.strip() or None
    setting.mobile = data.mobile.replace(" ", "").strip() or None
    setting.wecom_key = data.wecom_key.strip() or None
    setting.dingtalk_token = data.dingtalk_token.strip() or None
    setting.dingtalk_secret = data.dingtalk_secret.strip() or None
    setting.quiet_start = parse_clock(data.quiet_start) if data.quiet_on else None
    setting.quiet_end = parse_clock(data.quiet_end) if data.quiet_on else None
    setting.updated_at = utcnow()
    db.session.flush()
    trail.record(village=None, user=user, role=None, action=AuditAction.NOTICE_SETTINGS,
                 subject_type=AuditSubject.USER,
                 subject_id=user.id, before=before, after=settings_summary(setting))
    return setting


# ---- a township's reminder policy ---------------------------------------------------------------------

def policy_of(township: OrgUnit | None) -> tuple[int, int]:
    """(remind after, escalate after) working days for a township; the defaults without a policy."""
    row = db.session.get(NoticePolicy, township.id) if township is not None else None
    if row is None:
        return REMIND_AFTER_DEFAULT, ESCALATE_AFTER_DEFAULT
    return row.remind_after_days, row.escalate_after_days


def set_policy(user: User, township: OrgUnit | None, remind_after: int | None,
               escalate_after: int | None) -> NoticePolicy:
    """The admin sets a township's reminder policy (one `notice_policy` event on the system chain). A
    township outside the admin's district is not there for them (NotFound)."""
    if township is None or township.kind != OrgKind.TOWNSHIP or not can(user, Permission.POLICY_MANAGE, township):
        raise NotFound()
    errors: dict[str, str] = {}
    if remind_after is None or not 1 <= remind_after <= MAX_POLICY_DAYS:
        errors["remind_after"] = _("催办天数须在 1 到 %(n)d 个工作日之间。", n=MAX_POLICY_DAYS)
    if escalate_after is None or not 1 <= escalate_after <= MAX_POLICY_DAYS:
        errors["escalate_after"] = _("上报天数须在 1 到 %(n)d 个工作日之间。", n=MAX_POLICY_DAYS)
    elif remind_after is not None and escalate_after <= remind_after:
        errors["escalate_after"] = _("上报天数须大于催办天数。")
    if errors:
        raise SettingsError(next(iter(errors.values())), errors)
    assert remind_after is not None and escalate_after is not None
    row = db.session.get(NoticePolicy, township.id)
    before = ({"remind_after_days": row.remind_after_days, "escalate_after_days": row.escalate_after_days}
              if row else None)
    if row is None:
        row = NoticePolicy(township_id=township.id)
        db.session.add(row)
    row.remind_after_days, row.escalate_after_days = remind_after, escalate_after
    row.updated_by_id, row.updated_at = user.id, utcnow()
    db.session.flush()
    trail.record(village=None, user=user, role=Role.ADMIN, action=AuditAction.NOTICE_POLICY,
                 subject_type=AuditSubject.ORG_UNIT,
                 subject_id=township.id, before=before,
                 after={"township": township.code, "remind_after_days": remind_after,
                        "escalate_after_days": escalate_after})
    return row


def retry_delivery(user: User, delivery: NoticeDelivery | None) -> None:
    """The admin sends a failed delivery again (after fixing an address or the provider's settings).
    `delivery`: as found among the failures of the admin's district (None: not there, NotFound)."""
    if not can(user, Permission.POLICY_MANAGE):
        raise Forbidden(Permission.POLICY_MANAGE)
    if delivery is None:
        raise NotFound()
    if delivery.state != DeliveryState.FAILED:
        return
    delivery.state = DeliveryState.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = utcnow()
    delivery.lease_owner = delivery.lease_until = None
    db.session.flush()
    trail.record(village=None, user=user, role=Role.ADMIN, action=AuditAction.NOTICE_RETRY,
                 subject_type=AuditSubject.NOTICE_DELIVERY,
                 subject_id=delivery.id, before={"state": "failed", "reason": delivery.last_error},
                 after={"state": "pending"})
