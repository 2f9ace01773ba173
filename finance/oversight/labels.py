"""Chinese names for what the trail records, for the liaison's pages."""

from __future__ import annotations

from typing import Any

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
        return "，".join(f"{field_label(k)}: {show_value(k, v)}" for k, v in value.items())
    return str(value)
