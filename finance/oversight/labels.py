"""How the liaison's pages show what the trail records: field names, recorded values, and the verifier's
findings (by code) in the reader's language. The names of actions, subjects, roles, states and
attachment kinds are their enums' labels."""

from __future__ import annotations

import json
from typing import Any

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from audit.verify import Failure
from finance.attachment_kinds import AttachmentKind
from finance.roles import OrgKind, role_label
from finance.workflow import State

FIELD_LABELS: dict[str, Any] = {
    "number": _l("编号"),
    "village": _l("村"),
    "requester_id": _l("申请人"),
    "state": _l("状态"),
    "step": _l("审批步骤"),
    "round": _l("轮次"),
    "payee_name": _l("收款人"),
    "payee_bank": _l("开户行"),
    "payee_account": _l("收款账号"),
    "amount": _l("金额"),
    "purpose": _l("用途"),
    "subject": _l("会计科目"),
    "fund_source": _l("资金来源"),
    "budget_line": _l("预算"),
    "meeting_date": _l("会议日期"),
    "meeting_attendance": _l("参会人数"),
    "meeting_amount": _l("决议金额"),
    "policy_id": _l("审批规则版本"),
    "payment": _l("支付"),
    "attachment": _l("附件"),
    "text": _l("问询内容"),
    "deadline": _l("答复期限"),
    "answer": _l("答复"),
    "request_id": _l("申请"),
    "read": _l("查阅"),
    # nested in payment and attachment payloads, and the system chain's users, units and policies
    "filename": _l("文件名"),
    "id": _l("编号"),
    "kind": _l("类型"),
    "size": _l("大小（字节）"),
    "bank_reference": _l("银行流水号"),
    "payer_account": _l("付款账号"),
    "value_date": _l("支付日期"),
    "bank_account": _l("银行账户"),
    "code": _l("代码"),
    "name": _l("名称"),
    "parent": _l("上级单位"),
    "township": _l("乡镇"),
    "rules": _l("审批规则"),
    "version": _l("版本"),
    "username": _l("用户名"),
    "display_name": _l("姓名"),
    "org_unit": _l("单位"),
    "role": _l("角色"),
    # finance.notices
    "reminder": _l("催办"),
    "escalation": _l("上报"),
    "waiting_role": _l("等待的角色"),
    "working_days": _l("已等待工作日"),
    "told_role": _l("通知的角色"),
    "told": _l("通知的人"),
    "channels": _l("通知方式"),
    "quiet_hours": _l("免打扰时段"),
    "remind_after_days": _l("催办天数"),
    "escalate_after_days": _l("上报天数"),
    "reason": _l("原因"),
    # issue 15: what the replay compares (approval history rows, attachments, payments, accounts, units)
    "bank_name": _l("开户银行"),
    "bank_account_name": _l("账户名称"),
    "action": _l("操作"),
    "actor_id": _l("操作人"),
    "actor_role": _l("操作角色"),
    "from_state": _l("原状态"),
    "to_state": _l("新状态"),
    "comment": _l("意见"),
    "sha256": _l("SHA-256"),
    "uploaded_by_id": _l("上传人"),
    "cashier_id": _l("出纳"),
    "receipt_id": _l("银行回单"),
    "asked_by_id": _l("提问人"),
    "answered_by_id": _l("答复人"),
    "active": _l("账号启用"),
    # finance.controls in the request's events (issue 11)
    "route_roles": _l("审批路线"),
    "route_amount": _l("按累计金额审批"),
    "controls": _l("审核提示"),
    "recusals": _l("回避"),
    "committee": _l("集体审议"),
    "originals": _l("原件已收"),
}

# The verifier's findings by code (audit.verify.CHAIN_FAILURES and the app's replayer's
# REPLAY_FAILURES), with their parameters.
FAILURE_TEXT: dict[str, Any] = {
    "duplicate_seq": _l("序号重复"),
    "missing_events": _l("缺少第 %(first)s 至 %(last)s 条事件"),
    "columns_differ": _l("记录内容与哈希签入的内容不一致（被改动过）"),
    "columns_unreadable": _l("记录内容无法读取（被改动过）"),
    "duplicate_event": _l("与第 %(event)s 条事件重复"),
    "inserted_event": _l("第 %(event)s 条事件是后来插入的"),
    "prev_hash_broken": _l("prev_hash 与上一条事件接不上"),
    "entry_hash_wrong": _l("entry_hash 重新计算不符"),
    "time_backwards": _l("时间早于上一条事件"),
    "checkpoint_rewritten": _l("与长度 %(size)s 的签名检查点不符：第 %(first)s 至 %(last)s 条之间被改写"),
    "checkpoint_untrusted": _l("检查点签名无效，或密钥 %(key)s 不受信任"),
    "events_removed": _l("台账只有 %(size)s 条事件，签名检查点证明曾有 %(vouched)s 条：事件被删除"),
    "head_differs": _l("链头记录与最新事件不一致"),
    "no_village": _l("没有代码为 %(village)s 的村"),
    "request_no_events": _l("申请 %(request)s 在台账中没有记录"),
    "request_state_differs": _l("申请 %(request)s：数据库中状态为 %(db)s，台账记录为 %(trail)s"),
    "request_amount_differs": _l("申请 %(request)s：数据库中金额为 %(db)s，台账记录为 %(trail)s"),
    "request_field_differs": _l("申请 %(request)s：%(field)s 与台账记录不一致"),
    "request_not_in_database": _l("申请 %(request)s 在台账中有记录，数据库中却没有"),
    "payment_presence_differs": _l("申请 %(request)s：支付记录与台账不一致"),
    "payment_fields_differ": _l("申请 %(request)s：支付记录与台账不一致"),
    "paid_amount_differs": _l("申请 %(request)s：实付金额与批准金额不一致"),
    "request_actions_differ": _l("申请 %(request)s：第 %(n)s 条审批记录与台账不一致（%(fields)s）"),
    "request_attachments_differ": _l("申请 %(request)s：附件 %(attachment)s 与台账不一致（%(fields)s）"),
    "question_differs": _l("问询 %(question)s：%(fields)s 与台账记录不一致"),
    "question_no_events": _l("问询 %(question)s 在台账中没有记录"),
    "question_not_in_database": _l("问询 %(question)s 在台账中有记录，数据库中却没有"),
    "user_no_events": _l("用户 %(user)s 在系统台账中没有记录"),
    "user_differs": _l("用户 %(user)s：%(fields)s 与系统台账不一致"),
    "user_not_in_database": _l("用户 %(user)s 在系统台账中有记录，数据库中却没有"),
    "roles_differ": _l("用户 %(user)s：数据库中的角色与系统台账不一致（%(roles)s）"),
    "unit_no_events": _l("组织单位 %(unit)s 在系统台账中没有记录"),
    "unit_differs": _l("组织单位 %(unit)s：%(fields)s 与系统台账不一致"),
    "unit_not_in_database": _l("组织单位 %(unit)s 在系统台账中有记录，数据库中却没有"),
    "policy_no_events": _l("审批规则版本 %(policy)s 在系统台账中没有记录"),
    "policy_differs": _l("审批规则版本 %(policy)s：%(fields)s 与系统台账不一致"),
    "policy_not_in_database": _l("审批规则版本 %(policy)s 在系统台账中有记录，数据库中却没有"),
}


def field_label(name: str) -> str:
    return str(FIELD_LABELS.get(name, name))


def show_value(name: str, value: Any) -> str:
    """A recorded value as a person reads it."""
    if value is None or value == "":
        return "—"
    if name == "state":
        try:
            return State(value).label
        except ValueError:
            return str(value)
    if name == "role" and isinstance(value, str):
        return role_label(value)
    if name == "kind" and isinstance(value, str):
        if (kind := AttachmentKind.parse(value)) is not None:
            return kind.label
        org_kind = next((k for k in OrgKind if k.value == value), None)
        return org_kind.label if org_kind is not None else value
    if isinstance(value, dict):
        return gettext("，").join(f"{field_label(k)}: {show_value(k, v)}" for k, v in value.items())
    return str(value)


def payload_rows(recorded: str | None) -> list[tuple[str, str]]:
    """A recorded before/after (JSON text, as hashed) as labelled rows; empty when it is not an object."""
    try:
        data = json.loads(recorded or "")
    except ValueError:
        return []
    if not isinstance(data, dict):
        return []
    return [(field_label(k), show_value(k, v)) for k, v in data.items()]


def failure_text(failure: Failure) -> str:
    """A verifier finding in the reader's language (its English reason for a code the app does not know)."""
    template = FAILURE_TEXT.get(failure.code)
    if template is None:
        return failure.reason
    values: dict[str, Any] = dict(failure.args)
    if "field" in values:
        values["field"] = field_label(str(values["field"]))
    if "fields" in values:  # a comma-separated list of field names
        values["fields"] = gettext("、").join(field_label(n.strip()) for n in str(values["fields"]).split(","))
    return str(template) % values

