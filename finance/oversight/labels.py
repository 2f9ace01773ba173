"""Chinese names for what the trail records, for the liaison's pages."""

from __future__ import annotations

import re
from typing import Any

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from finance.roles import Role
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
}


def action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))


def field_label(name: str) -> str:
    return str(FIELD_LABELS.get(name, name))


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
    if isinstance(value, dict):
        return gettext("，").join(f"{field_label(k)}: {show_value(k, v)}" for k, v in value.items())
    return str(value)


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
