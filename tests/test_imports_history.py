"""EXCHANGE.md §4: `flask --app finance import history FILE.jsonl`: payment history from an earlier system."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import func, select

import audit
from finance.controls import queries as control_queries
from finance.controls.models import InvoiceFact
from finance.errors import ImportedHistory
from finance.payment_requests import services as requests
from finance.payment_requests.models import Attachment, HistoryReceipt, HistoryRecord, PaymentRequest, RequestAction
from finance.payments import services as payments
from finance.payments.models import Payment
from finance.workflow import Action, State
from tests import factories as f
from tests.imports_helpers import batches, events, run, write

PAYMENT = {
    "kind": "payment", "village": "HL-YC-01", "number": "LS2025-000123", "requester": "李秀英",
    "submitted_at": "2025-03-02T09:10:00+08:00", "payee_name": "濮阳市华龙区宏达建材商店",
    "payee_bank": "中国农业银行濮阳华龙支行", "payee_account": "6228480012345678901", "payee_id_number": None,
    "amount": "9800.00", "purpose": "村委会院墙维修材料款", "subject": "5401", "fund_source": "自有资金",
    "approvals": [{"role": "village_lead", "name": "王建国", "at": "2025-03-02T10:00:00+08:00"},
                  {"role": "村务监督委员会主任", "name": "不在系统的人", "at": "2025-03-02T23:40:00+08:00"}],
    "paid_at": "2025-03-05T15:00:00+08:00", "bank_reference": "ABC20250305000123",
    "payer_account": "622848 0012 3456 7801",
    "invoices": [{"number": "25412000000012345678", "date": "2025-03-01", "seller": "濮阳市华龙区宏达建材商店",
                  "amount": "9800.00"}],
    "attachments": [{"kind": "invoice", "file": "files/LS2025-000123-1.jpg"}],
}
RECEIPT = {"kind": "receipt", "village": "HL-YC-01", "number": "SK2025-000010",
           "received_at": "2025-04-01T10:00:00+08:00", "payer_name": "张三", "payer_account": "6217000011112222333",
           "amount": "12000.00", "type": "租金", "receipt_number": "0001234", "account": "622848 0012 3456 7801"}


def jsonl(*records: dict) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def history_file(tmp_path, *records, name="history.jsonl"):
    (tmp_path / "files").mkdir(exist_ok=True)
    (tmp_path / "files" / "LS2025-000123-1.jpg").write_bytes(f.jpeg_bytes())
    return write(tmp_path, name, jsonl(*records))


def imported(db, number):
    return db.execute(select(PaymentRequest).where(PaymentRequest.number == number)).scalar_one_or_none()


def test_history_imports_as_it_happened_with_its_own_number_and_times(app, db, tmp_path):
    before = events(db, chain="village:HL-YC-01")
    r = run(app, "import", "history", str(history_file(tmp_path, PAYMENT, RECEIPT)))
    assert r.exit_code == 0, r.output
    assert "新增 2 条" in r.output
    req = imported(db, "LS2025-000123")
    assert req.imported and req.state == State.PAID and req.amount == Decimal("9800.00")
    assert req.submitted_at.isoformat() == "2025-03-02T01:10:00+00:00"
    assert req.requester.username == "dy_baozhang"  # 李秀英, the one accountant of that name in 东岳村
    steps = [(a.action, a.step, a.actor.username, a.created_at.isoformat()) for a in req.actions]
    assert steps == [
        (Action.SUBMIT, None, "dy_baozhang", "2025-03-02T01:10:00+00:00"),
        (Action.APPROVE, 1, "dy_shuji", "2025-03-02T02:00:00+00:00"),
        (Action.APPROVE, 2, "history_import", "2025-03-02T15:40:00+00:00"),  # not a user here: the stand-in
        (Action.PAY, None, "history_import", "2025-03-05T07:00:00+00:00"),
    ]
    record = db.execute(select(HistoryRecord).where(HistoryRecord.request_id == req.id)).scalar_one()
    assert record.requester_name == "李秀英" and "不在系统的人" in record.approvals
    pay = db.execute(select(Payment).where(Payment.request_id == req.id)).scalar_one()
    assert (pay.bank_reference, pay.payer_account, pay.value_date.isoformat()) == (
        "ABC20250305000123", "622848001234567801", "2025-03-05")
    fact = db.execute(select(InvoiceFact).where(InvoiceFact.request_id == req.id)).scalar_one()
    photo = db.execute(select(Attachment).where(Attachment.request_id == req.id)).scalar_one()
    assert fact.attachment_id == photo.id and fact.number == "25412000000012345678"
    receipt = db.execute(select(HistoryReceipt).where(HistoryReceipt.number == "SK2025-000010")).scalar_one()
    assert receipt.amount == Decimal("12000.00") and receipt.account == "622848001234567801"
    # one event per record on the village's chain, one for the import; the chain verifies, replay included
    assert events(db, chain="village:HL-YC-01") == before + 2
    event = db.execute(select(audit.Event).where(audit.Event.action == "history_import",
                                                 audit.Event.subject_type == "payment_request",
                                                 audit.Event.subject_id == str(req.id))).scalar_one()
    after = json.loads(event.after)
    assert after["submitted_at"] == "2025-03-02T01:10:00.000000Z" and after["number"] == "LS2025-000123"
    assert event.occurred_at.year >= 2026  # the time of import beside the original times
    from finance.oversight.verification import run_verify

    report = run_verify(chain="village:HL-YC-01")
    assert report.ok, report.all_failures()


def test_a_second_import_of_the_same_file_adds_nothing(app, db, tmp_path):
    path = history_file(tmp_path, PAYMENT, RECEIPT)
    assert run(app, "import", "history", str(path)).exit_code == 0
    count, before = db.execute(select(func.count(PaymentRequest.id))).scalar_one(), events(db)
    r = run(app, "import", "history", str(path))
    assert r.exit_code == 0 and "没有新内容" in r.output, r.output
    assert db.execute(select(func.count(PaymentRequest.id))).scalar_one() == count and events(db) == before
    assert len(batches(db, "history")) == 1
    # the same lines in another file (other spacing, other key order, one new line) add only the new one
    other = dict(reversed(list(PAYMENT.items())))
    r = run(app, "import", "history", str(write(tmp_path, "more.jsonl", jsonl(other, {**RECEIPT, "number": "SK2"}))))
    assert r.exit_code == 0 and "新增 1 条" in r.output and "未变 1 条" in r.output, r.output


def test_a_file_of_imported_and_new_lines_over_two_villages_adds_only_the_new_ones(app, db, tmp_path):
    """Idempotence by one set query for the whole file (the numbers already there), and every village's
    events written together (one lock statement, one COPY): each chain goes on from its head and verifies."""
    from finance.oversight.verification import run_verify

    plain = {**PAYMENT, "attachments": []}
    old = [{**plain, "number": f"LS-OLD-{n}"} for n in range(3)]
    assert run(app, "import", "history", str(history_file(tmp_path, *old, name="old.jsonl"))).exit_code == 0
    count, before = db.execute(select(func.count(PaymentRequest.id))).scalar_one(), events(db, "history_import")
    heads = {c: events(db, chain=c) for c in ("village:HL-YC-01", "village:HL-YC-02")}
    new = [{**plain, "number": f"LS-NEW-{n}", "village": "HL-YC-02" if n % 2 else "HL-YC-01",
            "bank_reference": f"NEW{n}"} for n in range(4)]
    r = run(app, "import", "history", str(history_file(tmp_path, old[1], *new, old[0], RECEIPT, name="more.jsonl")))
    assert r.exit_code == 0 and "新增 5 条" in r.output and "未变 2 条" in r.output, r.output
    assert db.execute(select(func.count(PaymentRequest.id))).scalar_one() == count + 4
    assert events(db, "history_import") == before + 5
    assert events(db, chain="village:HL-YC-01") == heads["village:HL-YC-01"] + 3  # two payments, the receipt
    assert events(db, chain="village:HL-YC-02") == heads["village:HL-YC-02"] + 2
    for chain in heads:
        report = run_verify(chain=chain)
        assert report.ok, report.all_failures()
    # one of those numbers again with other content: refused, nothing written
    r = run(app, "import", "history", str(history_file(tmp_path, {**new[2], "amount": "1.00"}, {**plain, "number": "X"},
                                                       name="changed.jsonl")))
    assert r.exit_code == 1 and "此前已导入，内容与这一行不同" in r.output, r.output
    assert imported(db, "X") is None


def test_history_is_imported_even_where_todays_rules_would_refuse_it(app, db, tmp_path):
    live = f.in_state(State.PAID)
    reused = live.payment[0].bank_reference  # a bank reference a live payment already has
    odd = {**PAYMENT, "number": "LS-ODD", "payee_id_number": "110105194912310021",  # bad check digit
           "payer_account": "9999 8888 7777", "bank_reference": reused, "attachments": [], "approvals": []}
    again = {**odd, "number": "LS-ODD-2", "amount": "9900.00", "paid_at": None}  # the same invoice number twice
    r = run(app, "import", "history", str(history_file(tmp_path, odd, again)))
    assert r.exit_code == 0, r.output
    first, second = imported(db, "LS-ODD"), imported(db, "LS-ODD-2")
    assert first.state == State.PAID and first.payment[0].bank_reference == reused
    assert second.state == State.APPROVED  # approved there and never paid: stays so, and nobody pays it here
    record = db.execute(select(HistoryRecord).where(HistoryRecord.request_id == first.id)).scalar_one()
    assert record.payee_id_number == "110105194912310021"
    keys = db.execute(select(InvoiceFact.dup_key).where(InvoiceFact.request_id.in_([first.id, second.id]))).scalars()
    assert len(set(keys)) == 1


def test_history_counts_for_the_look_back_checks(app, db, tmp_path):
    r = run(app, "import", "history", str(history_file(tmp_path, {**PAYMENT, "attachments": []})))
    assert r.exit_code == 0, r.output
    draft = f.draft()
    uses = control_queries.earlier_invoice_uses(draft, ["25412000000012345678"])
    assert [u.number for u in uses["25412000000012345678"]] == ["LS2025-000123"]


@pytest.mark.parametrize("action", ["approve", "pay", "return", "reject", "withdraw", "reconcile"])
def test_history_can_never_be_approved_or_paid_again(app, db, tmp_path, action):
    paid = {**PAYMENT, "attachments": []}
    unpaid = {**PAYMENT, "number": "LS-UNPAID", "paid_at": None, "attachments": [], "invoices": []}
    assert run(app, "import", "history", str(history_file(tmp_path, paid, unpaid))).exit_code == 0
    for number in ("LS2025-000123", "LS-UNPAID"):
        req = imported(db, number)
        calls = {
            "approve": lambda r: requests.approve(f.user("dy_shuji"), r, "同意"),
            "return": lambda r: requests.return_for_revision(f.user("dy_shuji"), r, "退回"),
            "reject": lambda r: requests.reject(f.user("dy_shuji"), r, "驳回"),
            "withdraw": lambda r: requests.withdraw(f.user("dy_baozhang"), r),
            "pay": lambda r: payments.record_payment(f.user("yc_chuna"), r, f.payment_input(r)),
            "reconcile": lambda r: requests.transition(f.user("yc_chuna"), r, Action.RECONCILE),
        }
        with pytest.raises(ImportedHistory, match="历史导入"):
            calls[action](req)
        assert req.state in (State.PAID, State.APPROVED)
    assert db.execute(select(func.count(RequestAction.id)).where(RequestAction.action == Action.RECONCILE)
                      ).scalar_one() == 0
    if action == "reconcile":  # the bank's statement confirming matches in bulk leaves history alone too
        paid = imported(db, "LS2025-000123")
        from finance.roles import Role

        assert requests.transition_many(f.user("yc_chuna"), [paid], Action.RECONCILE, statement_role=Role.CASHIER,
                                         extra_after={}) == []
        assert paid.state == State.PAID


def test_bad_lines_import_nothing_and_name_the_line_and_field(app, db, tmp_path):
    lines = [
        PAYMENT,
        {**PAYMENT, "number": "X1", "amount": "12.345"},
        {**PAYMENT, "number": "X2", "submitted_at": "2025-13-02T09:10:00"},
        {**PAYMENT, "number": "X3", "village": "NOWHERE"},
        {**PAYMENT, "number": "X4", "payee_name": ""},
        {**PAYMENT, "number": "LS2025-000123", "amount": "1.00"},  # the first line's number, other content
        {**PAYMENT, "number": "X5", "subject": "999"},
        {**PAYMENT, "number": "X6", "attachments": [{"kind": "invoice", "file": "files/missing.jpg"}]},
        {**PAYMENT, "number": "X7", "invoices": [{"number": "1", "seller": "某店", "amount": "1.00"}]},
        {"kind": "transfer", "number": "X8"},
    ]
    before = events(db)
    r = run(app, "import", "history", str(history_file(tmp_path, *lines, name="bad.jsonl")))
    assert r.exit_code == 1, r.output
    for line, name in ((2, "amount"), (3, "submitted_at"), (4, "village"), (5, "payee_name"), (6, "number"),
                       (7, "subject"), (8, "attachments[0].file"), (9, "invoices[0].date"), (10, "kind")):
        assert f"bad.jsonl 第 {line} 行“{name}”字段" in r.output, (line, name, r.output)
    assert imported(db, "LS2025-000123") is None and events(db) == before


def test_a_line_that_is_not_json_is_named(app, db, tmp_path):
    r = run(app, "import", "history", str(write(tmp_path, "bad.jsonl", jsonl(PAYMENT) + "{not json\n[1, 2]\n")))
    assert r.exit_code == 1, r.output
    assert "bad.jsonl 第 2 行：不是有效的 JSON" in r.output and "bad.jsonl 第 3 行：每行应是一个 JSON 对象" in r.output


def test_files_and_invoices_are_checked_once_the_lines_read(app, db, tmp_path):
    lines = [{**PAYMENT, "number": "X6", "attachments": [{"kind": "invoice", "file": "files/missing.jpg"}]},
             {**PAYMENT, "number": "X7", "invoices": [{"number": "1", "seller": "某店", "amount": "1.00"}]},
             {**PAYMENT, "number": "X8", "attachments": [{"kind": "invoice", "file": "../../etc/passwd"}]}]
    r = run(app, "import", "history", str(history_file(tmp_path, *lines)))
    assert r.exit_code == 1, r.output
    assert "第 1 行“attachments[0].file”字段：找不到文件 files/missing.jpg" in r.output
    assert "第 2 行“invoices[0].date”字段" in r.output
    assert "第 3 行“attachments[0].file”字段" in r.output
    assert imported(db, "X6") is None


def test_a_live_number_is_refused(app, db, tmp_path):
    live = f.in_state(State.PENDING)
    r = run(app, "import", "history", str(history_file(tmp_path, {**PAYMENT, "number": live.number})))
    assert r.exit_code == 1 and "已被本系统中的申请使用" in r.output
