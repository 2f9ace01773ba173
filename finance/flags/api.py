"""The flags through the JSON API (/api/v1, docs/api.md): the liaison's list (the workbench's filters and
ranking), a flag with its evidence and history, the two dispositions, a request's open flags (as its page
shows them before the buttons), and holds on a payment. The queries and services are the pages'."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from flask_login import current_user
from pydantic import Field

from finance.api.endpoints_requests import load
from finance.api.framework import api
from finance.api.schemas import Id, Money, Out, Schema, Time
from finance.errors import NotFound
from finance.flags import queries, services
from finance.flags.models import Colour, FlagStatus, FlagType, RiskFlag
from finance.oversight import services as oversight
from finance.oversight.models import PaymentHold
from finance.permissions import Permission, can
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
