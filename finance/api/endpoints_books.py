"""The books through the API, as the pages keep them: a village's bank accounts (with opening and current
balances), its months (balances, what keeps a month open, month close), its statement lines with their match
state and proposals, the exception check, the receipts list; the monthly disclosure sheet and the liaison's
trail report as PDF; the liaison's CSV export of requests; discarding a draft. Each endpoint calls the
pages' own services and queries (finance.bank, finance.documents, finance.oversight,
finance.payment_requests): no rule lives here."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import Field
from pydantic.json_schema import SkipJsonSchema
from werkzeug.datastructures import MultiDict

from finance.api.endpoints_bank import TAG as BANK_TAG
from finance.api.endpoints_bank import ConfirmIn, ReceiptOut, _match_out, _village
from finance.api.endpoints_bank import MatchOut as BankMatchOut
from finance.api.endpoints_oversight import TAG_TRAIL
from finance.api.endpoints_requests import TAG as REQUESTS_TAG
from finance.api.endpoints_requests import RequestFilters, RequestOut, SubmitIn, UnitOut, load, request_out, unit_out
from finance.api.framework import Created, api
from finance.api.schemas import Day, Id, Money, Out, Page, Schema, Time
from finance.bank import queries as bank_queries
from finance.bank import services as bank
from finance.bank.models import AccountKind, BankAccount, BankMatch, LineKind, MatchStatus, StatementLine
from finance.bank.views import BANK_ROLES
from finance.documents import services as documents
from finance.documents.views import disclosure_response, trail_report_response
from finance.errors import Forbidden, InputError, NotFound
from finance.extensions import db
from finance.orgs.models import OrgUnit
from finance.oversight import queries as oversight_queries
from finance.oversight import services as oversight
from finance.oversight.views import csv_response
from finance.payment_requests import services as requests
from finance.payment_requests.filters import FilterForm, read_filters
from finance.permissions import Permission, can, villages_in_scope
from finance.roles import OrgKind
from finance.timefmt import today_local

TAG_DOCUMENTS = api.tag("documents", "打印与导出")
PERIOD_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
_PERIOD_RE = re.compile(PERIOD_PATTERN)
# An opening balance may be below zero (an overdrawn account), as on the accounts page.
SignedMoneyIn = Annotated[str, Field(pattern=r"^-?[0-9]{1,10}(\.[0-9]{1,2})?$", max_length=14,
                                     examples=["150000.00"])]
Period = Annotated[str, Field(pattern=PERIOD_PATTERN, examples=["2026-10"], description="月份 YYYY-MM")]


def _bank_village(code: str, *permissions: Permission) -> OrgUnit:
    """The village a bank path names by its code (as the bank pages do): one the user may not read
    through any of `permissions` (default: the bank's read) is a 404, like one that does not exist."""
    village = bank_queries.village_by_code(code)
    if village is None or village.kind != OrgKind.VILLAGE or not any(
            can(current_user, p, village) for p in permissions or (Permission.BANK_READ,)):
        raise NotFound(code)
    return village


def _bank_villages(*permissions: Permission, village_id: int | None = None) -> list[OrgUnit]:
    """The villages of the user's scope whose bank side they read through one of `permissions`."""
    return [v for v in villages_in_scope(current_user, BANK_ROLES)
            if (village_id is None or v.id == village_id) and any(can(current_user, p, v) for p in permissions)]


# --- accounts ---------------------------------------------------------------------------------------------------

class AccountQuery(Schema):
    village_id: SkipJsonSchema[None] | Id = None


class AccountOut(Out):
    id: int
    village: UnitOut
    number: str
    name: str
    bank_name: str
    kind: str
    kind_label: str
    opening_date: Day = Field(description="期初余额的日期")
    opening_balance: Money
    balance: Money | None = Field(
        description="当前余额：期初余额加上至今对账单的收入、减去支出（账户尚未开始时为 null）")
    statement_balance: Money | None = Field(description="本月对账单最后一笔的余额（本月没有流水时为 null）")
    updated_at: Time


class AccountList(Out):
    items: list[AccountOut]


def _account_out(account: BankAccount, balances: dict[int, bank_queries.AccountMonth]) -> AccountOut:
    month = balances.get(account.id)
    return AccountOut(id=account.id, village=unit_out(account.village), number=account.number, name=account.name,
                      bank_name=account.bank_name, kind=account.kind.value, kind_label=account.kind.label,
                      opening_date=account.opening_date, opening_balance=account.opening_balance,
                      balance=month.closing if month else None,
                      statement_balance=month.statement_closing if month else None, updated_at=account.updated_at)


def _current_balances(village: OrgUnit) -> dict[int, bank_queries.AccountMonth]:
    period = bank_queries.period_of(today_local())
    return {m.account.id: m for m in bank_queries.month_balances(village, period)}


@api.operation("GET", "/bank/accounts", summary="银行账户及余额", tag=BANK_TAG, query=AccountQuery,
               response=AccountList,
               description="管辖范围内各村的银行账户（与“银行账户”页相同的人可见）：期初余额与当前余额。"
                           "可用 village_id 只列一个村。")
def list_bank_accounts(query: AccountQuery) -> AccountList:
    items: list[AccountOut] = []
    for village in _bank_villages(Permission.BANK_READ, Permission.BANK_ACCOUNT_MANAGE,
                                  village_id=query.village_id):
        balances = _current_balances(village)
        items.extend(_account_out(a, balances) for a in bank_queries.accounts_of(village))
    return AccountList(items=items)


class AccountFields(Schema):
    name: str = Field(min_length=1, max_length=100, description="账户名称")
    bank_name: str = Field(default="", max_length=100, description="开户行")
    kind: Literal["basic", "general", "special"] = Field(default="basic", description="基本户 / 一般户 / 专用户")
    opening_date: date = Field(description="期初余额的日期")
    opening_balance: SignedMoneyIn = Field(description="期初余额（元，可为负）")


class AccountIn(AccountFields):
    village_id: Id
    number: str = Field(min_length=1, max_length=40, description="账号")


class AccountChangeIn(AccountFields):
    reason: str = Field(min_length=1, max_length=bank.MAX_REASON, description="修改理由（记入审计轨迹）")


def _account_input(body: AccountFields, number: str, reason: str = "") -> bank.AccountInput:
    return bank.AccountInput(number=number, name=body.name, bank_name=body.bank_name, kind=AccountKind(body.kind),
                             opening_date=body.opening_date, opening_balance=Decimal(body.opening_balance),
                             reason=reason)


@api.operation("POST", "/bank/accounts", summary="设置银行账户（期初余额）", tag=BANK_TAG, body=AccountIn,
               response=AccountOut, status=201, errors=(403, 409),
               description="审核会计或管理员为村设置一个银行账户及其期初余额（与“银行账户”页相同）。"
                           "该账号已是本村账户时 409：修改请用 PUT /bank/accounts/{account_id} 并写明理由。")
def create_bank_account(body: AccountIn) -> Created:
    village = _village(body.village_id)
    account = bank.set_account(current_user, village, _account_input(body, body.number), new=True)
    return Created(_account_out(account, _current_balances(village)),
                   url_for("api.list_bank_accounts", village_id=village.id))


@api.operation("PUT", "/bank/accounts/<int:account_id>", summary="修改银行账户", tag=BANK_TAG,
               body=AccountChangeIn, response=AccountOut, errors=(403,),
               description="整体替换账户的名称、开户行、类型和期初余额，须写明理由；已扎账月份的期初余额不能改（422）。")
def change_bank_account(account_id: int, body: AccountChangeIn) -> AccountOut:
    account = db.session.get(BankAccount, account_id)
    if account is None or not any(can(current_user, p, account.village)
                                  for p in (Permission.BANK_READ, Permission.BANK_ACCOUNT_MANAGE)):
        raise NotFound(account_id)
    village = account.village
    account = bank.set_account(current_user, village, _account_input(body, account.number, body.reason))
    return _account_out(account, _current_balances(village))


# --- months -----------------------------------------------------------------------------------------------------

class AccountMonthOut(Out):
    account: str
    opening: Money = Field(description="月初余额")
    inflows: Money
    outflows: Money
    closing: Money = Field(description="月末余额 = 月初 + 收入 − 支出")
    statement_closing: Money | None = Field(description="对账单本月最后一笔的余额（本月无流水时为 null）")
    agrees: bool = Field(description="月末余额与对账单一致（或本月无流水）")


class MonthOut(Out):
    period: str
    state: Literal["open", "closed"]
    open_exceptions: int = Field(description="本月未说明的对账异常")
    unmatched_lines: int = Field(description="本月未确认匹配的流水")
    accounts: list[AccountMonthOut]


class MonthList(Out):
    items: list[MonthOut]


def _month_out(m: bank_queries.MonthState) -> MonthOut:
    return MonthOut(period=m.period, state="closed" if m.closed else "open", open_exceptions=m.open_exceptions,
                    unmatched_lines=m.unsettled,
                    accounts=[AccountMonthOut(account=b.account.number, opening=b.opening, inflows=b.inflows,
                                              outflows=b.outflows, closing=b.closing,
                                              statement_closing=b.statement_closing, agrees=b.agrees)
                              for b in m.balances])


@api.operation("GET", "/bank/villages/<code>/months", summary="月度余额与扎账", tag=BANK_TAG, response=MonthList,
               description="村（code 为村代码，如 HL-YC-01）最近 12 个月，最新的在前：每个账户的月初、收入、支出、"
                           "月末余额，是否已扎账，以及未说明的异常和未确认的流水数。")
def list_bank_months(code: str) -> MonthList:
    village = _bank_village(code)
    return MonthList(items=[_month_out(m) for m in bank_queries.months_of(village, today_local())])


@api.operation("POST", "/bank/villages/<code>/months/<period>/close", summary="扎账", tag=BANK_TAG, body=ConfirmIn,
               response=MonthOut, errors=(403, 409),
               description="审核会计对一个月扎账（period 为 YYYY-MM）。不能扎账时 409，detail 写明原因"
                           "（未说明的异常、未确认的流水、余额不符、前一个月未扎账、月份尚未开始）；已扎账也是 409。")
def close_bank_month(code: str, period: str, body: ConfirmIn) -> MonthOut:
    village = _bank_village(code)
    bank.close_month(current_user, village, period)
    return _month_out(bank_queries.month_state(village, period, closed=True))


# --- statement lines (the reconciliation view) -----------------------------------------------------------------

class LineQuery(Schema):
    period: SkipJsonSchema[None] | Period = None
    open: bool = Field(default=False, description="只列待处理的流水（未匹配或匹配待确认）")
    after: SkipJsonSchema[None] | str = Field(default=None, pattern=r"^[0-9]{1,6}$", description="上一页返回的 next")
    limit: Annotated[int, Field(ge=1, le=100)] = 50


class CandidateOut(Out):
    """A payment (outflow line) or a receipt (inflow line) the line may belong to: choose it with
    POST /bank/lines/{line_id}/match."""

    payment_id: int | None
    receipt_id: int | None
    request_id: int | None
    number: str
    name: str
    day: Day
    detail: str


LineState = Literal["unmatched", "proposed", "confirmed", "no_match_needed"]


class LineOut(Out):
    id: int
    account: str
    value_date: Day
    serial: str
    debit: Money
    credit: Money
    balance: Money
    counterparty_name: str
    counterparty_account: str
    summary: str
    kind: str
    kind_label: str
    state: LineState = Field(
        description="未匹配 / 建议匹配待确认 / 已确认 / 按摘要记为手续费或利息，无需匹配")
    match: BankMatchOut | None
    candidates: list[CandidateOut] = Field(description="未匹配的流水：可能对应的支付或收款（与对账页相同）")


def _line_state(line: StatementLine, match: BankMatch | None) -> LineState:
    if match is not None:
        return "confirmed" if match.status is MatchStatus.CONFIRMED else "proposed"
    return "unmatched" if line.kind in (LineKind.PAYMENT, LineKind.INCOME) else "no_match_needed"


def _candidates(line: StatementLine, match: BankMatch | None) -> list[CandidateOut]:
    if match is not None:
        return []
    if line.kind is LineKind.PAYMENT:
        return [CandidateOut(payment_id=p.id, receipt_id=None, request_id=r.id, number=r.number or "",
                             name=p.payee_name, day=p.value_date, detail=r.purpose)
                for p, r in bank_queries.payment_candidates(line)]
    if line.kind is LineKind.INCOME:
        return [CandidateOut(payment_id=None, receipt_id=c.id, request_id=None, number=c.number or "",
                             name=c.payer_name, day=c.received_on, detail=c.type.label)
                for c in bank_queries.receipt_candidates(line)]
    return []


def _line_out(line: StatementLine, match: BankMatch | None) -> LineOut:
    return LineOut(id=line.id, account=line.account.number, value_date=line.value_date, serial=line.serial,
                   debit=line.debit, credit=line.credit, balance=line.balance,
                   counterparty_name=line.counterparty_name, counterparty_account=line.counterparty_account,
                   summary=line.summary, kind=line.kind.value, kind_label=line.kind.label,
                   state=_line_state(line, match),
                   match=_match_out(match) if match is not None else None, candidates=_candidates(line, match))


@api.operation("GET", "/bank/villages/<code>/lines", summary="对账单流水及匹配状态", tag=BANK_TAG, query=LineQuery,
               response=Page[LineOut],
               description="村的对账单流水，最新的在前（与对账页相同）：每笔的匹配状态、建议的匹配和可选的候选。"
                           "period（YYYY-MM）只列一个月；open=true 只列待处理的；"
                           "next 为下一页的游标（作为 after 传入）。")
def list_bank_lines(code: str, query: LineQuery) -> Page[LineOut]:
    village = _bank_village(code)
    offset = int(query.after or 0)
    rows = bank_queries.lines_of(village, query.period, only_open=query.open, limit=query.limit + 1, offset=offset)
    more = len(rows) > query.limit
    rows = rows[:query.limit]
    return Page[LineOut](items=[_line_out(line, match) for line, match in rows],
                         next=str(offset + len(rows)) if more else None)


class CheckOut(Out):
    raised: list[int] = Field(description="新发现的“已支付未见流水”异常的 id")


@api.operation("POST", "/bank/villages/<code>/check", summary="立即检查“已支付未见流水”", tag=BANK_TAG,
               body=ConfirmIn, response=CheckOut, errors=(403,),
               description="审核会计立即检查：付款后超过宽限天数仍未见对应流水的支付各记一个异常（已记过的不重复）。")
def check_bank_village(code: str, body: ConfirmIn) -> CheckOut:
    village = _bank_village(code)
    if not can(current_user, Permission.BANK_RECONCILE, village):
        raise Forbidden(Permission.BANK_RECONCILE)
    return CheckOut(raised=bank.check_paid_without_statement(village, current_user))


# --- receipts ----------------------------------------------------------------------------------------------------

class ReceiptQuery(Schema):
    village_id: SkipJsonSchema[None] | Id = None


class ReceiptRow(ReceiptOut):
    payer_account: str
    match_status: Literal["proposed", "confirmed"] | None = Field(
        description="已对账（confirmed）/ 待确认（proposed）/ 未见流水（null）")
    created_at: Time


class ReceiptList(Out):
    items: list[ReceiptRow]


@api.operation("GET", "/bank/receipts", summary="收款登记列表", tag=BANK_TAG, query=ReceiptQuery,
               response=ReceiptList,
               description="管辖范围内各村的收款登记（与“收款登记”页相同的人可见），收款日期最新的在前，"
                           "每村最多 200 笔；可用 village_id 只列一个村。")
def list_receipts(query: ReceiptQuery) -> ReceiptList:
    items: list[ReceiptRow] = []
    for village in _bank_villages(Permission.BANK_READ, Permission.RECEIPT_RECORD, village_id=query.village_id):
        for r, match in bank_queries.receipts_of(village):
            items.append(ReceiptRow(
                id=r.id, number=r.number or "", village_id=r.village_id, account=r.account.number,
                payer_name=r.payer_name, payer_account=r.payer_account, amount=r.amount, type=r.type.value,
                receipt_number=r.receipt_number, received_on=r.received_on,
                matched=match is not None and match.status is MatchStatus.CONFIRMED,
                match_status=None if match is None else (
                    "confirmed" if match.status is MatchStatus.CONFIRMED else "proposed"),
                created_at=r.created_at))
    return ReceiptList(items=items)


# --- documents ---------------------------------------------------------------------------------------------------

@api.operation("GET", "/villages/<code>/disclosure/<period>.pdf", summary="财务公开（月度，PDF）",
               tag=TAG_DOCUMENTS, produces=("application/pdf",),
               description="村（村代码）某月（YYYY-MM，本月或以前）的财务公开表，与“财务公开”页打印的相同；"
                           "已扎账的月份按对账单列出收支和余额。打印本身记入台账。")
def disclosure_pdf(code: str, period: str) -> Any:
    village = documents.village_by_key(code)
    if village is None or not can(current_user, Permission.REQUEST_READ, village):
        raise NotFound(code)
    if not _PERIOD_RE.fullmatch(period) or not documents.disclosure_month_ok(int(period[:4]), int(period[5:])):
        raise NotFound(period)
    return disclosure_response(village, int(period[:4]), int(period[5:]))


class ReportQuery(Schema):
    start: date = Field(description="开始日期（含）")
    end: date = Field(description="结束日期（含）")
    part: SkipJsonSchema[None] | Annotated[int, Field(ge=1, le=100_000)] = Field(
        default=None, description="分册：事件多于一册时必填（第几册，从 1 起）")


@api.operation("GET", "/chains/<chain_id>/report.pdf", summary="审计轨迹报告（PDF）", tag=TAG_TRAIL,
               query=ReportQuery, produces=("application/pdf",),
               description="廉情联络员导出一个村台账在日期范围内的事件及整条台账的校验结果（与“审计轨迹报告”页相同）。"
                           "事件多于一册时须用 part 指定第几册（否则 422，errors.part 写明共几册）。导出本身记入台账。")
def trail_report_pdf(chain_id: str, query: ReportQuery) -> Any:
    village = oversight_queries.village_of_chain(current_user, chain_id)
    if village is None or not can(current_user, Permission.AUDIT_READ, village):
        raise NotFound(chain_id)
    if errors := documents.report_range_errors(query.start, query.end):
        raise InputError(next(iter(errors.values())), errors)
    try:
        return trail_report_response(village, query.start, query.end, query.part)
    except documents.ReportInParts as split:
        why = _("该范围共有 %(n)d 个事件，报告分为 %(parts)d 册，请用 part 指定第几册（1 到 %(parts)d）。",
                n=split.total, parts=split.parts)
        raise InputError(why, {"part": why}) from None


# --- the liaison's export of requests ----------------------------------------------------------------------------

class ExportQuery(RequestFilters):
    """The filters of the liaison's request list (as GET /requests), without its paging."""


@api.operation("GET", "/requests/export.csv", summary="导出申请列表（CSV）", tag=TAG_DOCUMENTS, query=ExportQuery,
               produces=("text/csv",), errors=(404,),
               description="廉情联络员按筛选条件导出申请列表（与“查询申请”页的导出相同：UTF-8 带 BOM，最多 5000 条）；"
                           "导出本身记入各村台账。不是廉情联络员：404（与网页相同）。")
def export_requests_csv(query: ExportQuery) -> Any:
    if not can(current_user, Permission.AUDIT_READ):
        raise NotFound("export")
    given = {k: str(v) for k, v in query.model_dump(mode="json").items() if v is not None}
    filters = read_filters(FilterForm(formdata=MultiDict(given)), oversight_queries.liaison_villages(current_user))
    if filters.errors:
        raise InputError(next(iter(filters.errors.values())), filters.errors)
    return csv_response(oversight.export_requests(current_user, filters))


# --- discarding a draft ------------------------------------------------------------------------------------------

@api.operation("POST", "/requests/<int:request_id>/discard", summary="作废草稿", tag=REQUESTS_TAG, body=SubmitIn,
               response=RequestOut, errors=(403, 409),
               description="报账员作废自己村的草稿：不再出现在待办中，保留在台账里，编号不再使用。只有草稿可以作废。")
def discard_request(request_id: int, body: SubmitIn) -> RequestOut:
    req = load(request_id)
    requests.discard(current_user, req, version=body.version)
    return request_out(req)
