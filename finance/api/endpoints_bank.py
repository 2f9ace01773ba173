"""The bank through the API (issue 10): statement import (EXCHANGE.md §5), receipts, matches (confirm,
unmatch, choose) and exceptions (list, close with a reason). Every endpoint calls the bank pages' own
service (finance.bank.services) and reads through finance.bank.queries: no rule lives here."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from flask_babel import gettext as _
from flask_login import current_user
from pydantic import Field

from finance.api.framework import Created, api
from finance.api.schemas import Day, Id, Money, MoneyIn, Out, Schema, Time
from finance.bank import queries
from finance.bank import services as bank
from finance.bank.models import BankException, BankMatch, ExceptionKind, ReceiptType
from finance.errors import Forbidden, InputError, NotFound
from finance.extensions import db
from finance.imports.reader import ImportFileError
from finance.orgs.models import OrgUnit
from finance.permissions import Permission, can, villages_in_scope

TAG = api.tag("bank", "银行对账")


# --- statement import ------------------------------------------------------------------------------------

class StatementForm(Schema):
    account: str | None = Field(default=None, max_length=40,
                                description="本方账号；文件有“本方账号”列时可省略")


class ImportOut(Out):
    account: str
    sha256: str
    lines: int = Field(description="文件中的流水笔数")
    added: int = Field(description="新增的流水笔数（重复导入为 0）")
    confirmed: int = Field(description="流水号、金额、账号一致，由对账单确认的支付")
    proposed: int = Field(description="待审核会计确认的匹配")
    ambiguous: int = Field(description="有多笔候选、待人工选择的流水")
    exceptions: int
    message: str


@api.operation("POST", "/bank/statements", summary="导入银行对账单", tag=TAG, form=StatementForm, files=("file",),
               response=ImportOut, errors=(403,),
               description="multipart/form-data：file（CSV：UTF-8 或 GB18030；或 .xlsx）与可选的 account。"
                           "全部导入或全部不导入；同一文件再次导入不新增任何内容；有错误时 422，"
                           "errors.file 逐条写明文件、行和列。")
def import_statement(form: StatementForm, files: dict[str, list[tuple[str, bytes]]]) -> ImportOut:
    if not any(can(current_user, Permission.STATEMENT_IMPORT, v) for v in villages_in_scope(current_user)):
        raise Forbidden(Permission.STATEMENT_IMPORT)  # not an importer anywhere (the page is a 404 for them)
    name, data = files["file"][0]
    try:
        outcome = bank.import_statement(current_user, data, name, form.account)
    except ImportFileError as exc:
        raise InputError(str(exc.problems[0]), {"file": "\n".join(str(p) for p in exc.problems)}) from None
    return ImportOut(account=outcome.account.number, sha256=outcome.sha256, lines=outcome.lines,
                     added=outcome.added, confirmed=outcome.confirmed, proposed=outcome.proposed,
                     ambiguous=outcome.ambiguous, exceptions=outcome.exceptions, message=outcome.message())


# --- receipts --------------------------------------------------------------------------------------------------

class ReceiptIn(Schema):
    village_id: Id
    account_id: Id
    payer_name: str = Field(min_length=1, max_length=100, description="付款人")
    payer_account: str = Field(default="", max_length=40)
    amount: MoneyIn
    type: Literal["rent", "contracting", "subsidy", "interest", "other"] = Field(
        description="租金 / 发包 / 补助 / 利息 / 其他")
    receipt_number: str = Field(default="", max_length=40, description="收据号")
    received_on: date = Field(description="收款日期")


class ReceiptOut(Out):
    id: int
    number: str
    village_id: int
    account: str
    payer_name: str
    amount: Money
    type: str
    receipt_number: str
    received_on: Day
    matched: bool


def _village(village_id: int) -> OrgUnit:
    """The village a body names. One outside the user's scope reads like one that does not exist; being a
    field of the body, not of the path, it is a 422 naming the field (the path's unknown ids are the 404s)."""
    village = db.session.get(OrgUnit, village_id)
    if village is None or not any(can(current_user, p, village) for p in (
            Permission.BANK_READ, Permission.RECEIPT_RECORD, Permission.BANK_ACCOUNT_MANAGE)):
        why = _("没有这个村，或不在您的管辖范围内。")
        raise InputError(why, {"village_id": why})
    return village


@api.operation("POST", "/bank/receipts", summary="收款登记", tag=TAG, body=ReceiptIn, response=ReceiptOut,
               status=201, errors=(403,),
               description="村报账员（或审核会计）登记一笔收入，随后与对账单的收入流水匹配。")
def record_receipt(body: ReceiptIn) -> Created:
    village = _village(body.village_id)
    receipt = bank.record_receipt(current_user, village, bank.ReceiptInput(
        account_id=body.account_id, payer_name=body.payer_name, amount=Decimal(body.amount),
        type=ReceiptType(body.type), received_on=body.received_on, receipt_number=body.receipt_number,
        payer_account=body.payer_account))
    out = ReceiptOut(id=receipt.id, number=receipt.number or "", village_id=village.id,
                     account=receipt.account.number, payer_name=receipt.payer_name, amount=receipt.amount,
                     type=receipt.type.value, receipt_number=receipt.receipt_number,
                     received_on=receipt.received_on, matched=False)
    return Created(out, f"/api/v1/bank/receipts/{receipt.id}")


# --- matches -----------------------------------------------------------------------------------------------------

class MatchOut(Out):
    id: int | None
    line_id: int
    payment_id: int | None
    receipt_id: int | None
    rule: str
    status: str


def _match_out(match: BankMatch) -> MatchOut:
    return MatchOut(id=match.id, line_id=match.line_id, payment_id=match.payment_id, receipt_id=match.receipt_id,
                    rule=match.rule.value, status=match.status.value)


class ConfirmIn(Schema):
    """Nothing to send; a body, if any, may hold no field (an unknown one is refused like everywhere)."""


@api.operation("POST", "/bank/matches/<int:match_id>/confirm", summary="确认对账匹配", tag=TAG, body=ConfirmIn,
               response=MatchOut, errors=(403, 409),
               description="审核会计确认建议的匹配；支付的确认即该申请的“对账”，付款的出纳不能确认。")
def confirm_match(match_id: int, body: ConfirmIn) -> MatchOut:
    return _match_out(bank.confirm_match(current_user, match_id))


class ReasonIn(Schema):
    reason: str = Field(min_length=1, max_length=bank.MAX_REASON)


class DoneOut(Out):
    done: bool


@api.operation("POST", "/bank/matches/<int:match_id>/unmatch", summary="取消建议的匹配", tag=TAG, body=ReasonIn,
               response=DoneOut, errors=(403, 409), description="须写明理由；已确认的支付匹配不能取消。")
def unmatch(match_id: int, body: ReasonIn) -> DoneOut:
    bank.unmatch(current_user, match_id, body.reason)
    return DoneOut(done=True)


class ChooseIn(Schema):
    payment_id: Id | None = None
    receipt_id: Id | None = None


@api.operation("POST", "/bank/lines/<int:line_id>/match", summary="为流水选择对应的支付或收款", tag=TAG,
               body=ChooseIn, response=MatchOut, errors=(403, 409),
               description="审核会计在候选中选择（支出流水给 payment_id，收入流水给 receipt_id），即确认。")
def choose(line_id: int, body: ChooseIn) -> MatchOut:
    return _match_out(bank.manual_match(current_user, line_id, payment_id=body.payment_id,
                                        receipt_id=body.receipt_id))


# --- exceptions -----------------------------------------------------------------------------------------------

class ExceptionQuery(Schema):
    village_id: Id | None = None
    kind: Literal["unmatched_outflow", "unregistered_income", "paid_without_statement", "amount_mismatch",
                  "counterparty_mismatch"] | None = None
    closed: bool = Field(default=False, description="包括已关闭的")


class ExceptionOut(Out):
    id: int
    village_id: int
    kind: str
    label: str
    value_date: Day
    amount: Money
    detail: str
    line_id: int | None
    payment_id: int | None
    raised_at: Time
    closed_at: Time | None
    close_reason: str | None


class ExceptionList(Out):
    items: list[ExceptionOut]


def _exception_out(row: BankException) -> ExceptionOut:
    return ExceptionOut(id=row.id, village_id=row.village_id, kind=row.kind.value, label=row.kind.label,
                        value_date=row.value_date, amount=row.amount, detail=row.detail, line_id=row.line_id,
                        payment_id=row.payment_id, raised_at=row.raised_at, closed_at=row.closed_at,
                        close_reason=row.close_reason)


@api.operation("GET", "/bank/exceptions", summary="对账异常", tag=TAG, query=ExceptionQuery, response=ExceptionList,
               description="代理中心、镇长和该村的廉情联络员可见；默认只列未关闭的，最新的在前（最多 500 条）。")
def list_exceptions(query: ExceptionQuery) -> ExceptionList:
    villages = [v for v in villages_in_scope(current_user) if can(current_user, Permission.BANK_READ, v)]
    ids = [v.id for v in villages if query.village_id is None or v.id == query.village_id]
    kinds = [ExceptionKind(query.kind)] if query.kind else None
    rows = queries.exceptions(ids, kinds=kinds, open_only=not query.closed) if ids else []
    return ExceptionList(items=[_exception_out(r) for r in rows])


@api.operation("POST", "/bank/exceptions/<int:exception_id>/close", summary="说明并关闭对账异常", tag=TAG,
               body=ReasonIn, response=ExceptionOut, errors=(403, 409), description="审核会计写明原因后关闭。")
def close_exception(exception_id: int, body: ReasonIn) -> ExceptionOut:
    row = queries.exception_by_id(exception_id)
    if row is None or not can(current_user, Permission.BANK_READ, row.village):
        raise NotFound(exception_id)
    return _exception_out(bank.close_exception(current_user, exception_id, body.reason))
