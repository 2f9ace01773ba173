"""The app's side of the audit trail: what is recorded (AuditAction, AuditSubject, with their names),
who is acting, from where, and on which chain. Every event the app writes goes through `record`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from enum import StrEnum
from typing import Any

from flask import g, has_request_context
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm.attributes import manager_of_class

import audit
from finance.extensions import db
from finance.orgs.models import OrgUnit
from finance.roles import Role
from finance.security import client_addr
from finance.workflow import Action


class AuditAction(StrEnum):
    """What an event records. The values are stored in the trail (and hashed): never change one."""

    # the workflow's actions, under the same values (their names are the table's, see `label`)
    CREATE = "create"
    EDIT = "edit"
    SUBMIT = "submit"
    APPROVE = "approve"
    RETURN = "return"
    REJECT = "reject"
    WITHDRAW = "withdraw"
    PAY = "pay"
    RECONCILE = "reconcile"
    DISCARD = "discard"
    ATTACHMENT_ADD = "attachment_add"
    ATTACHMENT_REMOVE = "attachment_remove"
    # a liaison's reads and questions
    LIAISON_VIEW_ATTACHMENT = "liaison_view_attachment"
    LIAISON_EXPORT = "liaison_export"
    QUESTION_ASK = "question_ask"
    QUESTION_ANSWER = "question_answer"
    # prints and exports of documents
    PRINT_FORM = "print_form"
    EXPORT_TRAIL_REPORT = "export_trail_report"
    PRINT_DISCLOSURE = "print_disclosure"
    # the system chain: accounts, org units, policies
    PASSWORD_CHANGE = "password_change"  # noqa: S105 - an event name, not a password
    USER_CREATE = "user_create"
    ROLE_ASSIGN = "role_assign"
    ROLE_REMOVE = "role_remove"
    USER_ACTIVATE = "user_activate"
    USER_DEACTIVATE = "user_deactivate"
    ORG_CREATE = "org_create"
    POLICY_PUBLISH = "policy_publish"
    # finance.notices: reminders and escalation (on the village's chain), settings and policies
    NOTICE_REMIND = "notice_remind"
    NOTICE_ESCALATE = "notice_escalate"
    NOTICE_SETTINGS = "notice_settings"
    NOTICE_POLICY = "notice_policy"
    NOTICE_RETRY = "notice_retry"
    # the controls (issue 11): invoice facts, what a request pays against, the register, resolutions and
    # contracts, the 负面清单 and the control settings
    INVOICE_RECORD = "invoice_record"
    REQUEST_LINK = "request_link"
    REGISTER_ADD = "register_add"
    REGISTER_UPDATE = "register_update"
    REGISTER_REMOVE = "register_remove"
    RESOLUTION_CREATE = "resolution_create"
    RESOLUTION_RESULT = "resolution_result"
    CONTRACT_CREATE = "contract_create"
    NEGATIVE_LIST_ADD = "negative_list_add"
    NEGATIVE_LIST_UPDATE = "negative_list_update"
    NEGATIVE_LIST_REMOVE = "negative_list_remove"
    CONTROL_POLICY_PUBLISH = "control_policy_publish"
    # bulk imports (EXCHANGE.md): one event per import, one per record it adds or changes
    IMPORT = "import"
    SUBJECT_CREATE = "subject_create"
    SUBJECT_UPDATE = "subject_update"
    ORG_UPDATE = "org_update"
    USER_UPDATE = "user_update"
    ACTIVATION_ISSUE = "activation_issue"
    ACCOUNT_ACTIVATE = "account_activate"
    HISTORY_IMPORT = "history_import"
    MEMBER_ADD = "member_add"
    MEMBER_UPDATE = "member_update"
    # the bank (issue 10): accounts, statements, matches, receipts, exceptions, month close
    BANK_ACCOUNT_SET = "bank_account_set"
    STATEMENT_IMPORT = "statement_import"
    MATCH_PROPOSE = "match_propose"
    MATCH_CONFIRM = "match_confirm"
    MATCH_UNMATCH = "match_unmatch"
    RECEIPT_RECORD = "receipt_record"
    BANK_EXCEPTION_RAISE = "bank_exception_raise"
    BANK_EXCEPTION_CLOSE = "bank_exception_close"
    BANK_SETTINGS = "bank_settings"
    MONTH_CLOSE = "month_close"
    # finance.delegations (on the system chain)
    DELEGATION_CREATE = "delegation_create"
    DELEGATION_END = "delegation_end"
    # risk flags (issue 12): raised by a scan or at submit, extended, cleared or asked about; payment holds
    FLAG_RAISE = "flag_raise"
    FLAG_UPDATE = "flag_update"
    FLAG_CLEAR = "flag_clear"
    FLAG_ASK = "flag_ask"
    PAYMENT_HOLD = "payment_hold"
    PAYMENT_HOLD_LIFT = "payment_hold_lift"
    FLAG_POLICY_PUBLISH = "flag_policy_publish"
    COMMITTEE_VOTE = "committee_vote"  # a member's agreement at a k-of-n step, before the k-th
    ORIGINALS_RECEIVED = "originals_received"  # the agency has the paper vouchers (原件已收)
    # finance.api: personal API tokens and the accounts of systems (issue 13)
    API_TOKEN_CREATE = "api_token_create"  # noqa: S105 - an event name, not a secret
    API_TOKEN_REVOKE = "api_token_revoke"  # noqa: S105 - an event name, not a secret
    SYSTEM_ACCOUNT = "system_account"

    @classmethod
    def of(cls, action: Action) -> AuditAction:
        """The event of a workflow action."""
        return cls(action.value)

    @property
    def label(self) -> str:
        if self.value in _WORKFLOW:
            return Action(self.value).label
        return str(_ACTION_LABELS[self])


_WORKFLOW = frozenset(a.value for a in Action)
_ACTION_LABELS = {
    AuditAction.ATTACHMENT_ADD: _l("添加附件"),
    AuditAction.ATTACHMENT_REMOVE: _l("删除附件"),
    AuditAction.LIAISON_VIEW_ATTACHMENT: _l("联络员查看附件"),
    AuditAction.LIAISON_EXPORT: _l("联络员导出"),
    AuditAction.QUESTION_ASK: _l("提出问询"),
    AuditAction.QUESTION_ANSWER: _l("答复问询"),
    AuditAction.PRINT_FORM: _l("打印支付审批单"),
    AuditAction.EXPORT_TRAIL_REPORT: _l("导出审计轨迹报告"),
    AuditAction.PRINT_DISCLOSURE: _l("打印财务公开表"),
    AuditAction.PASSWORD_CHANGE: _l("修改密码"),
    AuditAction.USER_CREATE: _l("新建用户"),
    AuditAction.ROLE_ASSIGN: _l("分配角色"),
    AuditAction.ROLE_REMOVE: _l("移除角色"),
    AuditAction.USER_ACTIVATE: _l("启用账号"),
    AuditAction.USER_DEACTIVATE: _l("停用账号"),
    AuditAction.ORG_CREATE: _l("新建组织单位"),
    AuditAction.POLICY_PUBLISH: _l("发布审批流程"),
    AuditAction.NOTICE_REMIND: _l("催办提醒"),
    AuditAction.NOTICE_ESCALATE: _l("超时上报"),
    AuditAction.NOTICE_SETTINGS: _l("修改通知设置"),
    AuditAction.NOTICE_POLICY: _l("修改催办规则"),
    AuditAction.NOTICE_RETRY: _l("重新发送通知"),
    AuditAction.INVOICE_RECORD: _l("录入发票信息"),
    AuditAction.REQUEST_LINK: _l("关联决议或合同"),
    AuditAction.REGISTER_ADD: _l("登记关联人"),
    AuditAction.REGISTER_UPDATE: _l("修改关联人登记"),
    AuditAction.REGISTER_REMOVE: _l("移除关联人登记"),
    AuditAction.RESOLUTION_CREATE: _l("登记四议两公开决议"),
    AuditAction.RESOLUTION_RESULT: _l("上传结果公开照片"),
    AuditAction.CONTRACT_CREATE: _l("登记合同"),
    AuditAction.NEGATIVE_LIST_ADD: _l("加入负面清单"),
    AuditAction.NEGATIVE_LIST_UPDATE: _l("修改负面清单"),
    AuditAction.NEGATIVE_LIST_REMOVE: _l("移出负面清单"),
    AuditAction.CONTROL_POLICY_PUBLISH: _l("发布控制设置"),
    AuditAction.IMPORT: _l("批量导入"),
    AuditAction.SUBJECT_CREATE: _l("新建会计科目"),
    AuditAction.SUBJECT_UPDATE: _l("修改会计科目"),
    AuditAction.ORG_UPDATE: _l("修改组织单位"),
    AuditAction.USER_UPDATE: _l("修改用户信息"),
    AuditAction.ACTIVATION_ISSUE: _l("发放激活码"),
    AuditAction.ACCOUNT_ACTIVATE: _l("激活账号"),
    AuditAction.HISTORY_IMPORT: _l("历史导入"),
    AuditAction.MEMBER_ADD: _l("登记集体成员"),
    AuditAction.MEMBER_UPDATE: _l("修改集体成员"),
    AuditAction.BANK_ACCOUNT_SET: _l("设置银行账户"),
    AuditAction.STATEMENT_IMPORT: _l("导入银行对账单"),
    AuditAction.MATCH_PROPOSE: _l("建议对账匹配"),
    AuditAction.MATCH_CONFIRM: _l("确认对账匹配"),
    AuditAction.MATCH_UNMATCH: _l("取消对账匹配"),
    AuditAction.RECEIPT_RECORD: _l("收款登记"),
    AuditAction.BANK_EXCEPTION_RAISE: _l("发现对账异常"),
    AuditAction.BANK_EXCEPTION_CLOSE: _l("说明并关闭对账异常"),
    AuditAction.BANK_SETTINGS: _l("修改对账设置"),
    AuditAction.MONTH_CLOSE: _l("月末扎账"),
    AuditAction.DELEGATION_CREATE: _l("委托代理审批"),
    AuditAction.DELEGATION_END: _l("结束代理审批"),
    AuditAction.FLAG_RAISE: _l("发现风险提示"),
    AuditAction.FLAG_UPDATE: _l("风险提示新增关联申请"),
    AuditAction.FLAG_CLEAR: _l("核实风险提示无异常"),
    AuditAction.FLAG_ASK: _l("风险提示转问询"),
    AuditAction.PAYMENT_HOLD: _l("暂缓支付"),
    AuditAction.PAYMENT_HOLD_LIFT: _l("解除暂缓支付"),
    AuditAction.FLAG_POLICY_PUBLISH: _l("发布风险提示阈值"),
    AuditAction.COMMITTEE_VOTE: _l("集体审议同意"),
    AuditAction.ORIGINALS_RECEIVED: _l("原件已收"),
    AuditAction.API_TOKEN_CREATE: _l("创建 API 令牌"),
    AuditAction.API_TOKEN_REVOKE: _l("撤销 API 令牌"),
    AuditAction.SYSTEM_ACCOUNT: _l("设为系统账号"),
}


class AuditSubject(StrEnum):
    """What an event is about (its subject_type). Stored and hashed like AuditAction."""

    PAYMENT_REQUEST = "payment_request"
    PAYMENT_REQUEST_LIST = "payment_request_list"  # a liaison's export of a filtered list
    ATTACHMENT = "attachment"
    QUESTION = "question"
    CHAIN = "chain"  # a liaison's download of a chain's checkpoints
    TRAIL_REPORT = "trail_report"
    DISCLOSURE = "disclosure"
    USER = "user"
    ORG_UNIT = "org_unit"
    ROUTING_POLICY = "routing_policy"
    NOTICE_DELIVERY = "notice_delivery"
    RELATED_PERSON = "related_person"  # a line of the related-persons register
    RESOLUTION = "resolution"
    CONTRACT = "contract"
    NEGATIVE_ITEM = "negative_item"
    CONTROL_POLICY = "control_policy"
    IMPORT_BATCH = "import_batch"
    ACCOUNT_SUBJECT = "account_subject"
    HISTORY_RECEIPT = "history_receipt"
    MEMBER = "member"
    BANK_ACCOUNT = "bank_account"
    STATEMENT_IMPORT = "statement_import"
    STATEMENT_LINE = "statement_line"
    RECEIPT = "receipt"
    BANK_EXCEPTION = "bank_exception"
    BANK_SETTINGS = "bank_settings"
    MONTH_CLOSE = "month_close"
    DELEGATION = "delegation"
    RISK_FLAG = "risk_flag"
    PAYMENT_HOLD = "payment_hold"
    FLAG_POLICY = "flag_policy"
    API_TOKEN = "api_token"  # noqa: S105 - a subject name, not a secret

    @property
    def label(self) -> str:
        return str(_SUBJECT_LABELS[self])


_SUBJECT_LABELS = {
    AuditSubject.PAYMENT_REQUEST: _l("支出申请"),
    AuditSubject.PAYMENT_REQUEST_LIST: _l("支出申请列表"),
    AuditSubject.ATTACHMENT: _l("附件"),
    AuditSubject.QUESTION: _l("问询"),
    AuditSubject.CHAIN: _l("台账"),
    AuditSubject.TRAIL_REPORT: _l("审计轨迹报告"),
    AuditSubject.DISCLOSURE: _l("财务公开"),
    AuditSubject.USER: _l("用户"),
    AuditSubject.ORG_UNIT: _l("组织单位"),
    AuditSubject.ROUTING_POLICY: _l("审批规则"),
    AuditSubject.NOTICE_DELIVERY: _l("通知"),
    AuditSubject.RELATED_PERSON: _l("关联人登记"),
    AuditSubject.RESOLUTION: _l("四议两公开决议"),
    AuditSubject.CONTRACT: _l("合同"),
    AuditSubject.NEGATIVE_ITEM: _l("负面清单"),
    AuditSubject.CONTROL_POLICY: _l("控制设置"),
    AuditSubject.IMPORT_BATCH: _l("批量导入"),
    AuditSubject.ACCOUNT_SUBJECT: _l("会计科目"),
    AuditSubject.HISTORY_RECEIPT: _l("历史收款"),
    AuditSubject.MEMBER: _l("集体成员"),
    AuditSubject.BANK_ACCOUNT: _l("银行账户"),
    AuditSubject.STATEMENT_IMPORT: _l("银行对账单"),
    AuditSubject.STATEMENT_LINE: _l("银行流水"),
    AuditSubject.RECEIPT: _l("收款登记"),
    AuditSubject.BANK_EXCEPTION: _l("对账异常"),
    AuditSubject.BANK_SETTINGS: _l("对账设置"),
    AuditSubject.MONTH_CLOSE: _l("月末扎账"),
    AuditSubject.DELEGATION: _l("代理审批"),
    AuditSubject.RISK_FLAG: _l("风险提示"),
    AuditSubject.PAYMENT_HOLD: _l("暂缓支付"),
    AuditSubject.FLAG_POLICY: _l("风险提示阈值"),
    AuditSubject.API_TOKEN: _l("API 令牌"),
}


def action_label(value: str) -> str:
    """The name of a recorded action (the stored value itself when the app no longer knows it)."""
    try:
        return AuditAction(value).label
    except ValueError:
        return value


def subject_label(value: str) -> str:
    try:
        return AuditSubject(value).label
    except ValueError:
        return value


def context() -> audit.Context:
    if not has_request_context():
        return audit.Context(request_id=None, client_addr="cli")
    return audit.Context(request_id=getattr(g, "request_id", None), client_addr=client_addr())


def actor(user: Any, role: Role | None = None, org: OrgUnit | None = None) -> audit.Actor:
    if user is None:
        return audit.Actor(None, None, None, None)
    if role is not None and org is None:
        org = next((a.org_unit for a in user.assignments if a.role == role), None)
    return audit.Actor(user.id, user.display_name, role.value if role else None, org.code if org else None)


def chain_for(village: OrgUnit | None) -> str:
    return audit.village_chain(village.code) if village is not None else audit.SYSTEM_CHAIN


def record(*, village: OrgUnit | None, user: Any, role: Role | None, action: AuditAction,
           subject_type: AuditSubject, subject_id: int | str, **kwargs: Any) -> audit.Event:
    """`audit.record` on the village's chain (or the system chain), in the current transaction; then the
    listeners (`on_record`: the notices the event causes), in the same transaction. The action and subject
    must be members of AuditAction and AuditSubject (a free string is refused). Inside `deferred()` the
    event is kept and written when the block ends (the returned event then has no seq or hash yet)."""
    buffer = _DEFERRED.get()
    if buffer is not None:
        entry = audit.Entry(action=AuditAction(action).value, subject_type=AuditSubject(subject_type).value,
                            subject_id=subject_id, actor=actor(user, role), before=kwargs.get("before"),
                            after=kwargs.get("after"), reason=kwargs.get("reason"),
                            attachments=tuple(kwargs.get("attachments", ())))
        chain = chain_for(village)
        buffer.setdefault(chain, (village, []))[1].append(entry)
        return _detached_event({"chain_id": chain, "action": entry.action, "subject_type": entry.subject_type,
                                "subject_id": str(subject_id)})
    event = audit.record(
        db.session,
        chain_id=chain_for(village),
        action=AuditAction(action).value,
        subject_type=AuditSubject(subject_type).value,
        subject_id=subject_id,
        actor=actor(user, role),
        context=context(),
        **kwargs,
    )
    for listener in _LISTENERS:
        listener(event, village)
    return event


_DEFERRED: ContextVar[dict[str, tuple[OrgUnit | None, list[audit.Entry]]] | None] = ContextVar(
    "trail_deferred", default=None)


@contextmanager
def deferred() -> Iterator[None]:
    """Within the block, `record` keeps each event instead of writing it, and at the block's end they are
    written chain by chain, in the order recorded, by `audit.record_many` (one lock of a chain's head, one
    COPY), in the same transaction, and handed to the listeners. For a bulk import that goes through the
    per-record services (people, units, the register): the same events, without three statements each.
    An exception in the block writes nothing (the caller rolls the unit of work back)."""
    if _DEFERRED.get() is not None:  # already deferring: the outer block writes
        yield
        return
    token = _DEFERRED.set({})
    try:
        yield
        buffer = _DEFERRED.get() or {}
        for chain, (village, entries) in buffer.items():
            rows = audit.record_many(db.session, chain_id=chain, entries=entries, context=context())
            for row in rows:
                event = _detached_event(row)
                for listener in _LISTENERS:
                    listener(event, village)
    finally:
        _DEFERRED.reset(token)


Entries = list[tuple[AuditAction, AuditSubject, int | str, dict[str, Any]]]


def record_many(*, village: OrgUnit | None, user: Any, role: Role | None, entries: Entries) -> list[audit.Event]:
    """`record` for many events of one chain at once (a bulk import): one lock of the chain's head, one
    COPY (audit.record_many); the same events, hashes and listeners as one `record` each. Each entry is
    (action, subject type, subject id, keyword arguments of `record`: before, after, reason, attachments)."""
    return record_many_villages(user=user, role=role, batches=[(village, entries)])


def record_many_villages(*, user: Any, role: Role | None,
                         batches: list[tuple[OrgUnit | None, Entries]]) -> list[audit.Event]:
    """`record_many` for the chains of several villages at once (a history import of a whole district):
    every head locked in one statement, every event written in one COPY (audit.record_many_chains); the
    same events, hashes and listeners as `record_many` chain by chain. Each village comes at most once."""
    who = actor(user, role)
    villages = {chain_for(village): village for village, _entries in batches}
    if len(villages) != len(batches):
        raise ValueError("record_many_villages: a village given twice")
    written = audit.record_many_chains(
        db.session,
        {chain_for(village): [
            audit.Entry(action=AuditAction(action).value, subject_type=AuditSubject(subject).value,
                        subject_id=subject_id, actor=who, before=kw.get("before"), after=kw.get("after"),
                        reason=kw.get("reason"), attachments=tuple(kw.get("attachments", ())))
            for action, subject, subject_id, kw in entries] for village, entries in batches},
        context=context(),
    )
    events: list[audit.Event] = []
    for chain, rows in written.items():
        village = villages[chain]
        for row in rows:
            event = _detached_event(row)
            for listener in _LISTENERS:
                listener(event, village)
            events.append(event)
    return events


_EVENT_CLASS = manager_of_class(audit.Event)


def _detached_event(row: dict[str, Any]) -> audit.Event:
    """An Event holding a written row's columns, not in the session (as the ORM makes one when it loads a
    row, without the cost of the constructor: a bulk import hands a hundred thousand to the listeners)."""
    event: audit.Event = _EVENT_CLASS.new_instance()
    event.__dict__.update(row)
    return event


Listener = Callable[[audit.Event, OrgUnit | None], None]
_LISTENERS: list[Listener] = []


def on_record(listener: Listener) -> None:
    """Call `listener(event, village)` after every event `record` writes, in the same transaction (so what
    it writes stands or falls with the event). finance.notices registers its dispatcher at app start;
    the trail itself knows nothing of notices. Registering the same listener again changes nothing."""
    if listener not in _LISTENERS:
        _LISTENERS.append(listener)
