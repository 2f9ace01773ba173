"""Notices through the JSON API (/api/v1, docs/api.md): a person's own notice settings (the page
/notices/settings), and for the district admin the deliveries that failed, each township's reminder
policy and sending a failed delivery again (the page /notices/admin). The same services and queries."""

from __future__ import annotations

from flask_login import current_user
from pydantic import Field
from sqlalchemy import select

from finance.api.endpoints_requests import PersonOut, UnitOut, unit_out
from finance.api.framework import api
from finance.api.schemas import Money, Out, Schema, Time
from finance.errors import NotFound
from finance.extensions import db
from finance.notices import queries, services
from finance.notices.models import DeliveryState, NoticeDelivery, NoticeSetting
from finance.notices.outbox import channels_for
from finance.orgs.models import OrgUnit
from finance.permissions import Permission, can
from finance.roles import OrgKind

TAG = api.tag("notices", "通知与催办")
CLOCK = r"^[0-9]{1,2}:[0-9]{2}$"


class NoticeSettingsIn(Schema):
    """The whole of a person's settings (as the page's form sends them): a channel left out is off."""

    email_on: bool = False
    sms_on: bool = False
    wecom_on: bool = False
    dingtalk_on: bool = False
    email: str = Field(default="", max_length=300)
    mobile: str = Field(default="", max_length=30, description="11 位手机号码")
    wecom_key: str = Field(default="", max_length=200, description="企业微信群机器人的 key")
    dingtalk_token: str = Field(default="", max_length=200, description="钉钉群机器人的 access_token")
    dingtalk_secret: str = Field(default="", max_length=200, description="钉钉加签密钥（可不填）")
    quiet_on: bool = Field(default=False, description="免打扰时段（中国时间）内不发送，结束后再发")
    quiet_start: str = Field(default="22:00", max_length=10, description="HH:MM")
    quiet_end: str = Field(default="07:00", max_length=10, description="HH:MM")


class NoticeSettingsOut(Out):
    email_on: bool
    sms_on: bool
    wecom_on: bool
    dingtalk_on: bool
    email: str
    mobile: str
    wecom_key: str
    dingtalk_token: str
    dingtalk_secret: str
    quiet_on: bool
    quiet_start: str
    quiet_end: str
    channels: list[str] = Field(description="实际使用的渠道（未设置过：账户手机的短信）")
    saved: bool = Field(description="是否保存过设置（否：以上为默认值）")


def _settings_out() -> NoticeSettingsOut:
    setting = db.session.get(NoticeSetting, current_user.id)
    return NoticeSettingsOut(**services.settings_form(current_user, setting),
                             channels=[c.value for c in channels_for(current_user, setting)],
                             saved=setting is not None)


@api.operation("GET", "/account/notices", summary="我的通知设置", tag=TAG, response=NoticeSettingsOut,
               description="接收通知的渠道、地址和免打扰时段。")
def my_notice_settings() -> NoticeSettingsOut:
    return _settings_out()


@api.operation("PUT", "/account/notices", summary="修改我的通知设置", tag=TAG, body=NoticeSettingsIn,
               response=NoticeSettingsOut,
               description="整体保存（未列出的渠道为关闭）；选了渠道须填其地址，格式不对的字段逐个指明（422）。记入台账。")
def save_notice_settings(body: NoticeSettingsIn) -> NoticeSettingsOut:
    services.save_settings(current_user, services.SettingsInput(**body.model_dump()))
    return _settings_out()


# --- the district admin ------------------------------------------------------------------------------------
class DeliveryOut(Out):
    id: int
    kind: str
    kind_label: str
    channel: str
    channel_label: str
    user: PersonOut
    request_number: str | None
    village_name: str
    amount: Money | None
    state: str
    attempts: int
    last_error: str | None = Field(description="失败原因")
    created_at: Time


class DeliveriesOut(Out):
    failures: list[DeliveryOut] = Field(description="发送失败的通知，最新的在前（最多 100 条）")
    counts: dict[str, int] = Field(description="各状态的发送数：pending, sending, sent, failed")


class NoticePolicyOut(Out):
    township: UnitOut
    remind_after: int = Field(description="等待满几个工作日提醒办理人")
    escalate_after: int = Field(description="满几个工作日告知上一级")


class NoticePolicies(Out):
    items: list[NoticePolicyOut]


class NoticePolicyIn(Schema):
    remind_after: int = Field(description="1 到 30 个工作日")
    escalate_after: int = Field(description="1 到 30 个工作日，大于催办天数")


class RetryIn(Schema):
    pass


def _admin() -> None:
    if not can(current_user, Permission.POLICY_MANAGE):
        raise NotFound("notices")


def delivery_out(d: NoticeDelivery) -> DeliveryOut:
    n = d.notice
    return DeliveryOut(id=d.id, kind=n.kind.value, kind_label=n.kind.label, channel=d.channel.value,
                       channel_label=d.channel.label, user=PersonOut(id=d.user.id, name=d.user.display_name),
                       request_number=n.number, village_name=n.village_name, amount=n.amount, state=d.state.value,
                       attempts=d.attempts, last_error=d.last_error, created_at=d.created_at)


def _policy_out(township: OrgUnit) -> NoticePolicyOut:
    remind, escalate = services.policy_of(township)
    return NoticePolicyOut(township=unit_out(township), remind_after=remind, escalate_after=escalate)


@api.operation("GET", "/notices/deliveries", summary="发送失败的通知（区管理员）", tag=TAG, response=DeliveriesOut,
               errors=(404,),
               description="本区发送失败的通知及原因，和各状态的数量。区管理员以外为 404（与网页相同）。")
def failed_deliveries() -> DeliveriesOut:
    _admin()
    counts = queries.delivery_counts()
    return DeliveriesOut(failures=[delivery_out(d) for d in queries.failed_deliveries(current_user)],
                         counts={s.value: counts.get(s, 0) for s in DeliveryState})


@api.operation("POST", "/notices/deliveries/<int:delivery_id>/retry", summary="重新发送（区管理员）", tag=TAG,
               body=RetryIn, response=DeliveryOut,
               description="把一条发送失败的通知重新排队发送；不是本区发送失败的通知为 404。记入系统台账。")
def retry_delivery(delivery_id: int, body: RetryIn) -> DeliveryOut:
    _admin()
    delivery = queries.failed_delivery(current_user, delivery_id)
    services.retry_delivery(current_user, delivery)
    assert delivery is not None
    return delivery_out(delivery)


@api.operation("GET", "/notices/policies", summary="各乡镇的催办规则（区管理员）", tag=TAG, response=NoticePolicies,
               errors=(404,), description="本区各乡镇的催办和上报天数（工作日；未设置的为默认值）。")
def notice_policies() -> NoticePolicies:
    _admin()
    return NoticePolicies(items=[_policy_out(t) for t in queries.admin_townships(current_user)])


@api.operation("PUT", "/townships/<code>/notice-policy", summary="修改乡镇的催办规则（区管理员）", tag=TAG,
               body=NoticePolicyIn, response=NoticePolicyOut,
               description="催办和上报天数（工作日，1 到 30，上报大于催办）。本区以外的乡镇为 404。记入系统台账。")
def set_notice_policy(code: str, body: NoticePolicyIn) -> NoticePolicyOut:
    _admin()
    township = db.session.execute(select(OrgUnit).where(OrgUnit.code == code, OrgUnit.kind == OrgKind.TOWNSHIP)
                                  ).scalar_one_or_none()
    services.set_policy(current_user, township, body.remind_after, body.escalate_after)
    assert township is not None
    return _policy_out(township)
