"""The bank's pages: statement import, reconciliation (confirm, unmatch, choose among candidates), the
exceptions with close-with-reason, accounts with opening balances, receipts, and month close.

Views are thin: they read the form and call a service through `finance.web.write`. A village outside the
user's scope is a 404."""

from __future__ import annotations

import os
import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from flask import Blueprint, abort, current_app, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from finance.bank import queries as q
from finance.bank import services as bank
from finance.bank.models import AccountKind, ExceptionKind, LineKind, MatchStatus, ReceiptType
from finance.controls.normalise import normalise_account
from finance.errors import InputError
from finance.imports.reader import ImportFileError, parse_date, parse_money
from finance.money import AmountError
from finance.orgs.models import OrgUnit
from finance.permissions import Permission, can, villages_in_scope
from finance.roles import OrgKind, Role
from finance.timefmt import today_local
from finance.web import see_other, write

bp = Blueprint("bank", __name__, url_prefix="/bank")

BANK_ROLES = frozenset({Role.AGENCY_REVIEWER, Role.CASHIER, Role.TOWNSHIP_HEAD, Role.LIAISON, Role.ACCOUNTANT,
                        Role.ADMIN})


@bp.before_request
@login_required
def _signed_in() -> None:
    return None


@bp.app_context_processor
def _bank_nav() -> dict[str, Any]:
    return {"bank_villages": lambda: _readable_villages()}


def _readable_villages() -> list[OrgUnit]:
    if not getattr(current_user, "is_authenticated", False):
        return []
    return [v for v in villages_in_scope(current_user, BANK_ROLES)
            if can(current_user, Permission.BANK_READ, v) or can(current_user, Permission.RECEIPT_RECORD, v)
            or can(current_user, Permission.BANK_ACCOUNT_MANAGE, v)]


def _village(code: str, *permissions: Permission) -> OrgUnit:
    village = q.village_by_code(code)
    if village is None or village.kind != OrgKind.VILLAGE:
        abort(404)
    if not any(can(current_user, p, village) for p in permissions or (Permission.BANK_READ,)):
        abort(404)
    return village


def _errors(exc: InputError) -> dict[str, str]:
    return exc.errors or {"form": str(exc)}


def _money(text: str, field: str, errors: dict[str, str], *, allow_zero: bool = True,
           allow_negative: bool = False) -> Decimal | None:
    try:
        return parse_money(text, required=True, allow_zero=allow_zero, allow_negative=allow_negative)
    except AmountError as exc:
        errors[field] = str(exc)
        return None


def _day(text: str, field: str, errors: dict[str, str]) -> date | None:
    value = parse_date(text or "")
    if value is None:
        errors[field] = _("请填写日期（格式 YYYY-MM-DD）。")
    return value


# --- the bank's home: villages, with what waits ---------------------------------------------------------------

@bp.route("/")
def index() -> str:
    villages = _readable_villages()
    counts = {v.id: sum(q.exception_counts([v.id]).values()) for v in villages}
    waiting = {v.id: len(q.lines_of(v, only_open=True)) for v in villages}
    return render_template("bank/index.html", villages=villages, counts=counts, waiting=waiting,
                           can_import=any(can(current_user, Permission.STATEMENT_IMPORT, v) for v in villages))


# --- statement import -------------------------------------------------------------------------------------------

def _importable_accounts() -> list[Any]:
    return [a for v in villages_in_scope(current_user, BANK_ROLES) if can(current_user, Permission.STATEMENT_IMPORT, v)
            for a in q.accounts_of(v)]


@bp.route("/import", methods=["GET", "POST"])
def import_statement() -> ResponseReturnValue:
    accounts = _importable_accounts()
    if not any(can(current_user, Permission.STATEMENT_IMPORT, v) for v in villages_in_scope(current_user, BANK_ROLES)):
        abort(404)
    chosen = request.form.get("account", "") if request.method == "POST" else request.args.get("account", "")

    def page(problems: list[str]) -> str:
        return render_template("bank/import.html", accounts=accounts, chosen=chosen, problems=problems,
                               limit_mb=current_app.config.get("IMPORT_MAX_BYTES", 10 * 1024 * 1024) // (1024 * 1024))

    if request.method != "POST":
        return page([])
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return page([_("请选择对账单文件（CSV 或 .xlsx）。")]), 422
    data = upload.stream.read(20 * 1024 * 1024 + 1)
    name = os.path.basename(upload.filename)
    account = next((a for a in accounts if str(a.id) == chosen), None)

    def run() -> bank.ImportOutcome:
        try:
            return bank.import_statement(current_user, data, name, account.number if account else None)
        except ImportFileError as exc:
            raise InputError("\n".join(str(p) for p in exc.problems)) from None

    def done(outcome: bank.ImportOutcome) -> ResponseReturnValue:
        return see_other(url_for(".reconcile", code=outcome.account.village.code), outcome.message(),
                         "success" if outcome.added else "info")

    return write(run, done=done, invalid=lambda exc: page(str(exc).split("\n")))


# --- reconciliation ----------------------------------------------------------------------------------------------

@bp.route("/<code>/reconcile")
def reconcile(code: str) -> str:
    village = _village(code)
    open_lines = q.lines_of(village, only_open=True)
    candidates = {}
    for line, match in open_lines:
        if match is None:
            candidates[line.id] = (q.payment_candidates(line) if line.kind is LineKind.PAYMENT
                                   else q.receipt_candidates(line))
    settled = [(line, match) for line, match in q.lines_of(village, limit=60)
               if not (match is None and line.kind in (LineKind.PAYMENT, LineKind.INCOME))
               and not (match is not None and match.status is MatchStatus.PROPOSED)]
    return render_template("bank/reconcile.html", village=village, open_lines=open_lines, candidates=candidates,
                           settled=settled[:30], may_confirm=can(current_user, Permission.BANK_RECONCILE, village),
                           may_import=can(current_user, Permission.STATEMENT_IMPORT, village),
                           exception_count=sum(q.exception_counts([village.id]).values()))


def _back_to(code: str) -> str:
    return url_for(".reconcile", code=code)


@bp.route("/matches/<int:match_id>/confirm", methods=["POST"])
def confirm(match_id: int) -> ResponseReturnValue:
    code = request.form.get("village", "")
    _village(code)
    return write(lambda: bank.confirm_match(current_user, match_id),
                 done=lambda _m: see_other(_back_to(code), _("已确认对账。")), back=_back_to(code),
                 conflict=lambda text: see_other(_back_to(code), text, "error"))


@bp.route("/matches/<int:match_id>/unmatch", methods=["POST"])
def unmatch(match_id: int) -> ResponseReturnValue:
    code = request.form.get("village", "")
    _village(code)
    return write(lambda: bank.unmatch(current_user, match_id, request.form.get("reason", "")),
                 done=lambda _m: see_other(_back_to(code), _("已取消匹配，该流水重新待对账。")), back=_back_to(code),
                 conflict=lambda text: see_other(_back_to(code), text, "error"))


@bp.route("/lines/<int:line_id>/match", methods=["POST"])
def match_line(line_id: int) -> ResponseReturnValue:
    code = request.form.get("village", "")
    _village(code)
    choice = request.form.get("choice", "")
    kind, _sep, number = choice.partition(":")
    target = int(number) if number.isdigit() else None
    return write(lambda: bank.manual_match(current_user, line_id, payment_id=target if kind == "p" else None,
                                           receipt_id=target if kind == "r" else None),
                 done=lambda _m: see_other(_back_to(code), _("已按所选匹配并确认对账。")), back=_back_to(code),
                 conflict=lambda text: see_other(_back_to(code), text, "error"))


# --- exceptions --------------------------------------------------------------------------------------------------

@bp.route("/exceptions")
def exceptions() -> str:
    villages = [v for v in villages_in_scope(current_user, BANK_ROLES) if can(current_user, Permission.BANK_READ, v)]
    if not villages:
        abort(404)
    chosen = request.args.get("village", "")
    ids = [v.id for v in villages if not chosen or v.code == chosen]
    kind = request.args.get("kind", "")
    kinds = [ExceptionKind(kind)] if kind in {k.value for k in ExceptionKind} else None
    show_closed = request.args.get("closed") == "1"
    rows = q.exceptions(ids, kinds=kinds, open_only=not show_closed, limit=300)
    return render_template("bank/exceptions.html", rows=rows, villages=villages, chosen=chosen, kind=kind,
                           show_closed=show_closed, kinds=list(ExceptionKind),
                           may_close={v.id for v in villages if can(current_user, Permission.BANK_RECONCILE, v)},
                           counts=q.exception_counts(ids))


@bp.route("/exceptions/<int:exception_id>/close", methods=["POST"])
def close_exception(exception_id: int) -> ResponseReturnValue:
    row = q.exception_by_id(exception_id)
    if row is None or not can(current_user, Permission.BANK_READ, row.village):
        abort(404)
    back = url_for(".exceptions", village=row.village.code)
    return write(lambda: bank.close_exception(current_user, exception_id, request.form.get("reason", "")),
                 done=lambda _r: see_other(back, _("已说明并关闭该异常。")), back=back,
                 conflict=lambda text: see_other(back, text, "error"))


@bp.route("/<code>/check", methods=["POST"])
def check(code: str) -> ResponseReturnValue:
    village = _village(code, Permission.BANK_RECONCILE)
    back = url_for(".exceptions", village=code)
    return write(lambda: bank.check_paid_without_statement(village, current_user),
                 done=lambda raised: see_other(back, _("检查完成，新发现 %(n)d 个“已支付未见流水”。", n=len(raised))),
                 back=back)


# --- accounts ------------------------------------------------------------------------------------------------------

ACCOUNT_FIELDS = ("number", "name", "bank_name", "kind", "opening_date", "opening_balance", "reason")


@bp.route("/<code>/accounts", methods=["GET", "POST"])
def accounts(code: str) -> ResponseReturnValue:
    village = _village(code, Permission.BANK_READ, Permission.BANK_ACCOUNT_MANAGE)
    may_manage = can(current_user, Permission.BANK_ACCOUNT_MANAGE, village)
    rows = q.accounts_of(village)
    edit = request.args.get("edit", "")
    editing = next((a for a in rows if str(a.id) == edit), None)
    if request.method == "POST":
        typed = {k: request.form.get(k, "").strip() for k in ACCOUNT_FIELDS}
        editing = next((a for a in rows if a.number == normalise_account(typed["number"])), None)
    elif editing is not None:
        typed = {"number": editing.number, "name": editing.name, "bank_name": editing.bank_name,
                 "kind": editing.kind.value, "opening_date": editing.opening_date.isoformat(),
                 "opening_balance": f"{editing.opening_balance:.2f}", "reason": ""}
    elif not rows and village.bank_account:
        typed = {"number": village.bank_account, "name": village.bank_account_name or village.name,
                 "bank_name": village.bank_name or "", "kind": AccountKind.BASIC.value,
                 "opening_date": today_local().replace(day=1).isoformat(), "opening_balance": "", "reason": ""}
    else:
        typed = {"kind": AccountKind.BASIC.value}

    def page(errors: dict[str, str]) -> str:
        return render_template("bank/accounts.html", village=village, rows=rows, typed=typed, errors=errors,
                               may_manage=may_manage, editing=editing,
                               kind_options=[(k.value, k.label) for k in AccountKind])

    if request.method != "POST":
        return page({})
    if not may_manage:
        abort(403)
    errors: dict[str, str] = {}
    amount = _money(typed["opening_balance"], "opening_balance", errors, allow_negative=True)
    day = _day(typed["opening_date"], "opening_date", errors)
    if errors:
        return page(errors), 422
    kind = AccountKind(typed["kind"]) if typed["kind"] in {k.value for k in AccountKind} else AccountKind.BASIC
    data = bank.AccountInput(number=typed["number"], name=typed["name"], bank_name=typed["bank_name"], kind=kind,
                             opening_date=day, opening_balance=amount, reason=typed["reason"])
    return write(lambda: bank.set_account(current_user, village, data),
                 done=lambda _a: see_other(url_for(".accounts", code=code), _("账户已保存。")),
                 invalid=lambda exc: page(_errors(exc)))


# --- receipts ------------------------------------------------------------------------------------------------------

RECEIPT_FIELDS = ("account_id", "payer_name", "payer_account", "amount", "type", "receipt_number", "received_on",
                  "client_key")


@bp.route("/<code>/receipts", methods=["GET", "POST"])
def receipts(code: str) -> ResponseReturnValue:
    village = _village(code, Permission.BANK_READ, Permission.RECEIPT_RECORD)
    may_record = can(current_user, Permission.RECEIPT_RECORD, village)
    accounts_ = q.accounts_of(village)
    if request.method == "POST":
        typed = {k: request.form.get(k, "").strip() for k in RECEIPT_FIELDS}
    else:
        typed = {"received_on": today_local().isoformat(), "client_key": uuid.uuid4().hex,
                 "account_id": str(accounts_[0].id) if accounts_ else "", "type": ReceiptType.RENT.value}

    def page(errors: dict[str, str]) -> str:
        return render_template("bank/receipts.html", village=village, rows=q.receipts_of(village), typed=typed,
                               errors=errors, may_record=may_record, accounts=accounts_,
                               type_options=[(t.value, t.label) for t in ReceiptType],
                               account_options=[(a.id, f"{a.kind.label} {a.number}") for a in accounts_])

    if request.method != "POST":
        return page({})
    if not may_record:
        abort(403)
    errors: dict[str, str] = {}
    amount = _money(typed["amount"], "amount", errors, allow_zero=False)
    day = _day(typed["received_on"], "received_on", errors)
    if errors:
        return page(errors), 422
    upload = request.files.get("attachment")
    limit = current_app.config["MAX_UPLOAD_BYTES"]
    blob = upload.stream.read(limit + 1) if upload is not None and upload.filename else b""
    data = bank.ReceiptInput(
        account_id=int(typed["account_id"]) if typed["account_id"].isdigit() else None,
        payer_name=typed["payer_name"], amount=amount,
        type=ReceiptType(typed["type"]) if typed["type"] in {t.value for t in ReceiptType} else None,
        received_on=day, receipt_number=typed["receipt_number"], payer_account=typed["payer_account"],
        attachment_name=os.path.basename(upload.filename or "") if upload is not None else "", attachment_data=blob)
    key = typed["client_key"][:64] or None
    return write(lambda: bank.record_receipt(current_user, village, data, client_key=key),
                 done=lambda r: see_other(url_for(".receipts", code=code), _("已登记收款 %(n)s。", n=r.number)),
                 invalid=lambda exc: page(_errors(exc)))


# --- balances and month close --------------------------------------------------------------------------------------

@bp.route("/<code>/months")
def months(code: str) -> str:
    village = _village(code)
    rows = [(m.period, m.balances, m.closed, m.open_exceptions, m.unsettled)
            for m in q.months_of(village, today_local())]
    return render_template("bank/months.html", village=village, rows=rows,
                           may_close=can(current_user, Permission.BANK_RECONCILE, village))


@bp.route("/<code>/months/<period>/close", methods=["POST"])
def close_month(code: str, period: str) -> ResponseReturnValue:
    village = _village(code)
    back = url_for(".months", code=code)
    return write(lambda: bank.close_month(current_user, village, period),
                 done=lambda _c: see_other(back, _("%(p)s 已扎账。", p=period)), back=back,
                 conflict=lambda text: see_other(back, text, "error"))
