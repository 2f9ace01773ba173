"""The flags through the JSON API (/api/v1, docs/api.md): the liaison's list (the workbench's filters and
ranking), a flag with its evidence and history, the two dispositions, a request's open flags (as its page
shows them before the buttons), holds on a payment (暂缓支付 and its lifting), the district page (提级监督)
and each township's thresholds (the CLI `flags policy`). The queries and services are the pages'."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_login import current_user
from pydantic import Field
from sqlalchemy import select

from finance.api.endpoints_requests import UnitOut, load, unit_out
from finance.api.framework import api
from finance.api.schemas import Id, Money, Out, Schema, Time
from finance.errors import InputError, NotFound
from finance.extensions import db
from finance.flags import district, queries, services
from finance.flags.models import Colour, FlagStatus, FlagType, RiskFlag
from finance.flags.policy import DEFAULT_FLAG_RULES
from finance.orgs.models import OrgUnit
from finance.oversight import services as oversight
from finance.oversight.models import PaymentHold
from finance.payment_requests.models import PaymentRequest
from finance.permissions import Permission, can
from finance.roles import OrgKind
from finance.trail import action_label

TAG = api.tag("flags", "风险提示")


class FlagOut(Out):
    id: int
    type: str = Field(description="EXCHANGE.md §6 的类型，如 split_payment")
    type_label: str
    severity: str = Field(description="red / yellow")
    status: str = Field(description="open / cleared / asked")
    village: str = Field(description="村编码")
    summary: str
    requests: list[str] = Field(description="申请编号（历史导入的保留原编号）")
    statement_lines: list[str]
    amount: Money | None
    raised_at: Time
    occurred_at: Time | None
    source: str = Field(description="scan（扫描发现）或 submit（提交时发现）")
    reason: str | None = Field(description="已核实无异常的核实情况，或问询内容")
    question_id: int | None


class FlagEventOut(Out):
    action: str
    label: str
    actor: str | None
    at: Time
    reason: str | None


class FlagDetailOut(FlagOut):
    evidence: dict[str, Any]
    attachment_ids: list[int]
    history: list[FlagEventOut]


class FlagList(Out):
    items: list[FlagOut]
    total: int
    next: str | None = Field(default=None, description="下一页的 after 值；最后一页为 null")


class FlagQuery(Schema):
    village: Id | None = Field(default=None, description="村的 id")
    type: FlagType | None = None
    colour: Colour | None = None
    status: FlagStatus | None = Field(default=FlagStatus.OPEN, description="默认只列待核实的")
    after: str | None = Field(default=None, pattern=r"^[0-9]{1,6}$", description="上一页答复中的 next")


class ClearIn(Schema):
    reason: str = Field(min_length=1, max_length=services.MAX_REASON, description="核实情况（必填）")


class AskIn(Schema):
    text: str = Field(min_length=1, max_length=oversight.MAX_TEXT)
    deadline: date = Field(description="答复期限（今天起 90 天内）")
    request_id: Id | None = Field(default=None, description="问询哪一笔申请；默认该提示的最后一笔")
    hold: bool = Field(default=False, description="同时暂缓支付，直到问询答复")
    hold_reason: str = Field(default="", max_length=oversight.MAX_TEXT)


class HoldIn(Schema):
    reason: str = Field(min_length=1, max_length=oversight.MAX_TEXT)


class HoldOut(Out):
    id: int
    request_id: int
    reason: str
    question_id: int | None
    held_at: Time
    lifted_at: Time | None
    lift_reason: str | None


def flag_out(flag: RiskFlag, village_code: str | None = None) -> FlagOut:
    code = village_code or queries.village_code(flag.village_id)
    return FlagOut(id=flag.id, type=flag.kind.value, type_label=flag.kind.label, severity=flag.severity.value,
                   status=flag.status.value, village=code, summary=flag.summary,
                   requests=json.loads(flag.request_numbers), statement_lines=json.loads(flag.statement_lines),
                   amount=flag.amount, raised_at=flag.raised_at, occurred_at=flag.occurred_at, source=flag.source,
                   reason=flag.reason, question_id=flag.question_id)


def _flag(flag_id: int) -> RiskFlag:
    if not can(current_user, Permission.AUDIT_READ):
        raise NotFound(flag_id)
    flag = queries.visible_flag(current_user, flag_id)
    if flag is None:
        raise NotFound(flag_id)
    return flag


def _detail(flag: RiskFlag) -> FlagDetailOut:
    base = flag_out(flag)
    history = [FlagEventOut(action=e.action, label=action_label(e.action), actor=e.actor_name, at=e.occurred_at,
                            reason=e.reason) for e in queries.history_of(flag)]
    return FlagDetailOut(**base.model_dump(), evidence=queries.evidence_of(flag),
                         attachment_ids=[a.id for a in queries.images_of(flag)], history=history)


@api.operation("GET", "/flags", summary="风险提示列表", tag=TAG, query=FlagQuery, response=FlagList,
               description="廉情联络员辖区内的风险提示：红色在前，再按金额、时间排序；可按村、类型、颜色、状态筛选。")
def list_flags(query: FlagQuery) -> FlagList:
    if not can(current_user, Permission.AUDIT_READ):
        return FlagList(items=[], total=0)
    page = int(query.after) if query.after else 1
    rows, total = queries.workbench(current_user, queries.Filters(village_id=query.village, kind=query.type,
                                                                  colour=query.colour, status=query.status), page)
    codes = {v.id: v.code for v in queries.liaison_villages(current_user)}
    more = page * queries.PAGE < total
    return FlagList(items=[flag_out(f, codes.get(f.village_id)) for f, _name in rows], total=total,
                    next=str(page + 1) if more else None)


@api.operation("GET", "/flags/<int:flag_id>", summary="风险提示及证据", tag=TAG, response=FlagDetailOut,
               description="证据（涉及的申请、金额、日期、照片附件 id）与处理记录。")
def get_flag(flag_id: int) -> FlagDetailOut:
    return _detail(_flag(flag_id))


@api.operation("POST", "/flags/<int:flag_id>/clear", summary="已核实无异常", tag=TAG, body=ClearIn,
               response=FlagDetailOut, errors=(409,), description="须写明核实情况；记入该村台账。")
def clear_flag(flag_id: int, body: ClearIn) -> FlagDetailOut:
    flag = _flag(flag_id)
    services.clear(current_user, flag, body.reason)
    return _detail(flag)


@api.operation("POST", "/flags/<int:flag_id>/ask", summary="需问询", tag=TAG, body=AskIn, response=FlagDetailOut,
               errors=(409,), description="对该提示涉及的一笔申请提出问询，可同时暂缓支付；记入该村台账。")
def ask_flag(flag_id: int, body: AskIn) -> FlagDetailOut:
    flag = _flag(flag_id)
    reqs = {r.id: r for r in queries.requests_of(flag)}
    if body.request_id is not None and body.request_id not in reqs:
        raise NotFound(body.request_id)
    req = reqs[body.request_id] if body.request_id is not None else list(reqs.values())[-1]
    services.ask(current_user, flag, req, body.text, body.deadline, hold=body.hold, hold_reason=body.hold_reason)
    return _detail(flag)


class RequestFlags(Out):
    items: list[FlagOut]
    hold: HoldOut | None


def hold_out(hold: PaymentHold) -> HoldOut:
    return HoldOut(id=hold.id, request_id=hold.request_id, reason=hold.reason, question_id=hold.question_id,
                   held_at=hold.held_at, lifted_at=hold.lifted_at, lift_reason=hold.lift_reason)


@api.operation("GET", "/requests/<int:request_id>/flags", summary="申请上未处理的风险提示", tag=TAG,
               response=RequestFlags,
               description="审批人、代理中心、出纳和廉情联络员看到的该申请的未处理风险提示，以及暂缓支付。")
def request_flags(request_id: int) -> RequestFlags:
    req = load(request_id)
    hold = queries.hold_of(req)
    return RequestFlags(items=[flag_out(f) for f in queries.open_flags_of(current_user, req)],
                        hold=hold_out(hold) if hold is not None else None)


# --- 暂缓支付 (the pages' flags.hold and flags.lift) -------------------------------------------------------
class HoldRequestIn(Schema):
    reason: str = Field(min_length=1, max_length=oversight.MAX_TEXT, description="暂缓支付的理由（必填）")
    question_id: Id | None = Field(default=None, description="暂缓到哪一条问询答复为止；须是该申请上未答复的问询。"
                                                              "默认：该申请上最早的未答复问询（与网页相同），没有则不关联")


class LiftIn(Schema):
    reason: str = Field(min_length=1, max_length=oversight.MAX_TEXT, description="解除的理由（必填）")


def _renamed(exc: InputError, names: dict[str, str]) -> InputError:
    """The service's refusal with its fields named as the API's body names them."""
    return InputError(str(exc), {names.get(k, k): v for k, v in exc.errors.items()})


def _holdable(request_id: int) -> PaymentRequest:
    """The request, for a liaison over its village; not there for anyone else (as the page)."""
    req = load(request_id)
    if not can(current_user, Permission.PAYMENT_HOLD, req):
        raise NotFound(request_id)
    return req


@api.operation("POST", "/requests/<int:request_id>/hold", summary="暂缓支付", tag=TAG, body=HoldRequestIn,
               response=HoldOut, errors=(409,),
               description="廉情联络员暂缓一笔申请的支付，直到所关联的问询答复或解除暂缓；出纳在此期间不能支付。"
                           "已支付或已暂缓的申请为 409。记入该村台账。")
def hold_request(request_id: int, body: HoldRequestIn) -> HoldOut:
    req = _holdable(request_id)
    open_questions = queries.open_questions_of(req)
    if body.question_id is None:
        question = next(iter(open_questions), None)
    else:
        question = next((q for q in open_questions if q.id == body.question_id), None)
        if question is None:
            message = _("须是该申请上未答复的问询。")
            raise InputError(message, {"question_id": message})
    try:
        hold = oversight.hold_payment(current_user, req, body.reason, question)
    except InputError as exc:
        raise _renamed(exc, {"hold_reason": "reason"}) from None
    return hold_out(hold)


@api.operation("POST", "/holds/<int:hold_id>/lift", summary="解除暂缓支付", tag=TAG, body=LiftIn, response=HoldOut,
               errors=(409,), description="廉情联络员解除暂缓支付（须写明理由）；已解除的为 409。记入该村台账。")
def lift_hold(hold_id: int, body: LiftIn) -> HoldOut:
    hold = db.session.get(PaymentHold, hold_id)
    if hold is None:
        raise NotFound(hold_id)
    _holdable(hold.request_id)
    try:
        oversight.lift_hold(current_user, hold, body.reason)
    except InputError as exc:
        raise _renamed(exc, {"lift_reason": "reason"}) from None
    return hold_out(hold)


# --- 提级监督 (the page flags.district_page) ---------------------------------------------------------------
class MonthOut(Out):
    month: str = Field(description="YYYY-MM（中国时间）")
    requests: int
    amount: Money


class TownshipReportOut(Out):
    township: UnitOut
    months: list[MonthOut] = Field(description="近 6 个月每月提交的申请数和金额，最近的在前")
    backlog: int = Field(description="待审批和待支付的申请数")
    oldest_days: int = Field(description="其中等待最久的已等待天数")
    flags: dict[str, int] = Field(description="未核实无异常的风险提示数，按类型（EXCHANGE.md §6）")
    flag_labels: dict[str, str] = Field(description="类型的中文名")
    exceptions: int | None = Field(description="未处理的银行流水异常数")


class DistrictOut(Out):
    district: UnitOut
    townships: list[TownshipReportOut]


@api.operation("GET", "/district", summary="提级监督：各乡镇概况", tag=TAG, response=DistrictOut, errors=(404,),
               description="区级廉情联络员和区管理员看到的各乡镇：每月申请数和金额、积压及其最长等待天数、"
                           "按类型的风险提示数、银行流水异常数。只读；其他人为 404（与网页相同）。")
def district_report() -> DistrictOut:
    unit = district.district_of_user(current_user)
    if unit is None or not can(current_user, Permission.DISTRICT_READ, unit):
        raise NotFound("district")
    labels = {t.value: t.label for t in FlagType}
    return DistrictOut(district=unit_out(unit), townships=[TownshipReportOut(
        township=unit_out(row.township),
        months=[MonthOut(month=m, requests=n, amount=amount) for m, n, amount in row.months],
        backlog=row.backlog, oldest_days=row.oldest_days, flags=row.flags,
        flag_labels={k: labels.get(k, k) for k in row.flags}, exceptions=row.exceptions)
        for row in district.report(unit)])


# --- thresholds as policy data (the CLI `flags policy`) ---------------------------------------------------
Threshold = int | str | list[str]


class ThresholdOut(Out):
    name: str
    value: Threshold = Field(description="整数；小数为字符串；词语为字符串数组")
    default: Threshold
    is_default: bool = Field(description="是否仍为默认值")


class FlagPolicyOut(Out):
    township: UnitOut
    version: int | None = Field(description="在用的版本；null：从未发布，全部为默认值")
    published_at: Time | None
    thresholds: list[ThresholdOut]


class FlagPolicyIn(Schema):
    thresholds: dict[str, Threshold] = Field(
        min_length=1, max_length=64,
        description="要改的阈值（名称 → 新值）；未列出的保持不变。整数或数字字符串；词语列表为字符串数组")


def _township(code: str) -> OrgUnit:
    """A township by code, for its admin (who sets its thresholds) or its liaisons (who work by them)."""
    unit = db.session.execute(select(OrgUnit).where(OrgUnit.code == code, OrgUnit.kind == OrgKind.TOWNSHIP)
                              ).scalar_one_or_none()
    if unit is None or not (can(current_user, Permission.POLICY_MANAGE, unit)
                            or can(current_user, Permission.AUDIT_READ, unit)):
        raise NotFound(code)
    return unit


def _policy_out(unit: OrgUnit) -> FlagPolicyOut:
    row = services.current_policy(unit)
    current = json.loads(services.current_rules(unit).to_json())
    defaults = json.loads(DEFAULT_FLAG_RULES.to_json())
    return FlagPolicyOut(township=unit_out(unit), version=row.version if row else None,
                         published_at=row.created_at if row else None,
                         thresholds=[ThresholdOut(name=k, value=v, default=defaults[k], is_default=v == defaults[k])
                                     for k, v in sorted(current.items())])


@api.operation("GET", "/townships/<code>/flag-policy", summary="风险提示阈值", tag=TAG, response=FlagPolicyOut,
               description="该乡镇在用的风险提示阈值，标明哪些仍为默认值。区管理员和该乡镇的廉情联络员可查看。")
def get_flag_policy(code: str) -> FlagPolicyOut:
    return _policy_out(_township(code))


@api.operation("PUT", "/townships/<code>/flag-policy", summary="修改风险提示阈值", tag=TAG, body=FlagPolicyIn,
               response=FlagPolicyOut, errors=(403,),
               description="发布该乡镇阈值的新版本（与命令 `flask --app finance flags policy` 相同）：区管理员可改，"
                           "廉情联络员为 403。格式不对的阈值逐个指明（422）。记入系统台账。")
def set_flag_policy(code: str, body: FlagPolicyIn) -> FlagPolicyOut:
    unit = _township(code)
    changes = {k: v if isinstance(v, list) else str(v) for k, v in body.thresholds.items()}
    try:
        services.publish_rules(current_user, unit, changes)
    except InputError as exc:
        raise InputError(str(exc), {f"thresholds.{k}": v for k, v in exc.errors.items()}) from None
    return _policy_out(unit)
