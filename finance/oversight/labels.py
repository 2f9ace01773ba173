"""Chinese names for what the trail records, for the liaison's pages."""

from __future__ import annotations

import json
import re
from typing import Any

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from finance.roles import ORG_KIND_LABELS, Role
from finance.workflow import ACTION_LABELS as WORKFLOW_ACTIONS
from finance.workflow import State

ACTION_LABELS: dict[str, Any] = {
    **{str(k): v for k, v in WORKFLOW_ACTIONS.items()},
    "attachment_add": _l("添加附件"),
    "attachment_remove": _l("删除附件"),
    "liaison_view_attachment": _l("联络员查看附件"),
    "liaison_export": _l("联络员导出"),
    "question_ask": _l("提出质询"),
    "question_answer": _l("答复质询"),
    "password_change": _l("修改密码"),
    "user_create": _l("新建用户"),
    "role_assign": _l("分配角色"),
    "role_remove": _l("移除角色"),
    "user_activate": _l("启用账号"),
    "user_deactivate": _l("停用账号"),
}

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
    "text": _l("质询内容"),
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
}

SUBJECT_LABELS: dict[str, Any] = {
    "payment_request": _l("支出申请"),
    "user": _l("用户"),
    "org_unit": _l("组织单位"),
    "routing_policy": _l("审批规则"),
    "question": _l("质询"),
    "chain": _l("台账"),
}

KIND_LABELS: dict[str, Any] = {
    "invoice": _l("发票"),
    "fiscal_receipt": _l("财政或内部收据"),
    "labour_slip": _l("个人劳务签收单"),
    "other_voucher": _l("其他凭证"),
    "contract": _l("合同"),
    "acceptance": _l("验收单"),
    "minutes": _l("四议两公开会议记录"),
    "receipt": _l("银行回单"),
    "other": _l("其他材料"),
}


def action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))


def field_label(name: str) -> str:
    return str(FIELD_LABELS.get(name, name))


def subject_label(subject_type: str) -> str:
    return str(SUBJECT_LABELS.get(subject_type, subject_type))


def role_label(role: str | None) -> str:
    try:
        return Role(role).label if role else ""
    except ValueError:
        return role or ""


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
        org_kinds = {str(k): v for k, v in ORG_KIND_LABELS.items()}
        return str(KIND_LABELS.get(value) or org_kinds.get(value) or value)
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


# The verifier (audit/, framework-free) reports in English for the CLI and logs; the liaison reads Chinese.
_FAILURES: list[tuple[re.Pattern[str], Any]] = [
    (re.compile(r"duplicate seq$"), _l("序号重复")),
    (re.compile(r"missing events (?P<a>\d+)\.\.(?P<b>\d+)$"), _l("缺少第 %(a)s 至 %(b)s 条事件")),
    (
        re.compile(r"stored columns differ from the hashed bytes$"),
        _l("记录内容与哈希签入的内容不一致（被改动过）"),
    ),
    (re.compile(r"stored columns unreadable: .*"), _l("记录内容无法读取（被改动过）")),
    (re.compile(r"duplicate of event (?P<a>\d+)$"), _l("与第 %(a)s 条事件重复")),
    (re.compile(r"event (?P<a>\d+) was inserted: .*"), _l("第 %(a)s 条事件是后来插入的")),
    (re.compile(r"prev_hash does not link .*"), _l("prev_hash 与上一条事件接不上")),
    (re.compile(r"entry_hash does not recompute$"), _l("entry_hash 重新计算不符")),
    (re.compile(r"time runs backwards$"), _l("时间早于上一条事件")),
    (
        re.compile(
            r"differs from the checkpoint signed at size (?P<n>\d+): the chain was rewritten between seq "
            r"(?P<a>\d+) and (?P<b>\d+)$"
        ),
        _l("与长度 %(n)s 的签名检查点不符：第 %(a)s 至 %(b)s 条之间被改写"),
    ),
    (
        re.compile(r"checkpoint signature invalid or key (?P<k>\S+) not trusted$"),
        _l("检查点签名无效，或密钥 %(k)s 不受信任"),
    ),
    (
        re.compile(r"chain has (?P<a>\d+) events, a checkpoint vouches for (?P<b>\d+).*"),
        _l("台账只有 %(a)s 条事件，签名检查点证明曾有 %(b)s 条：事件被删除"),
    ),
    (re.compile(r"chain head row differs .*"), _l("链头记录与最新事件不一致")),
    (
        re.compile(r"request (?P<r>\S+): state in database (?P<a>\S+), trail says (?P<b>\S+)$"),
        _l("申请 %(r)s：数据库中状态为 %(a)s，台账记录为 %(b)s"),
    ),
    (
        re.compile(r"request (?P<r>\S+): amount in database (?P<a>\S+), trail says (?P<b>\S+)$"),
        _l("申请 %(r)s：数据库中金额为 %(a)s，台账记录为 %(b)s"),
    ),
    (
        re.compile(r"request (?P<r>\S+): (?P<f>payee_name|payee_account) differs from the trail$"),
        _l("申请 %(r)s：%(f)s 与台账记录不一致"),
    ),
    (re.compile(r"request (?P<r>\S+): payment .*"), _l("申请 %(r)s：支付记录与台账不一致")),
    (
        re.compile(r"request (?P<r>\S+): paid amount differs from approved$"),
        _l("申请 %(r)s：实付金额与批准金额不一致"),
    ),
    (re.compile(r"request (?P<r>\S+) has no events$"), _l("申请 %(r)s 在台账中没有记录")),
    (
        re.compile(r"request (?P<r>\S+) is in the trail but not in the database$"),
        _l("申请 %(r)s 在台账中有记录，数据库中却没有"),
    ),
]


def failure_text(reason: str) -> str:
    """A verifier failure in Chinese (the English original when no pattern matches)."""
    for pattern, template in _FAILURES:
        match = pattern.match(reason)
        if match:
            values = match.groupdict()
            if "f" in values:
                values["f"] = field_label(values["f"])
            return str(template) % values
    return reason
