"""The scan (idempotent, incremental), the export of EXCHANGE.md §6, and the preventive flags at submit."""

from __future__ import annotations

import json
import uuid

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import func, select

import audit
from finance.extensions import db
from finance.flags.export import export_lines
from finance.flags.models import FlagType, RiskFlag
from finance.flags.scan import scan
from finance.payment_requests import services as requests
from finance.trail import AuditAction, AuditSubject
from tests.controls import helpers as ch
from tests.flags.helpers import flags_of, numbers, plant


def _events(action: AuditAction) -> int:
    return db.session.execute(select(func.count(audit.Event.id)).where(
        audit.Event.action == action.value, audit.Event.subject_type == AuditSubject.RISK_FLAG.value)).scalar_one()


@pytest.mark.usefixtures("db", "no_preventive")
def test_a_second_scan_raises_nothing_and_each_flag_is_one_event() -> None:
    for a, d in (("9800.00", 5), ("9700.00", 3), ("9600.00", 1)):
        plant(a, days_ago=d)
    first = scan()
    assert first.full and first.raised
    assert _events(AuditAction.FLAG_RAISE) == len(first.raised)
    second = scan()
    assert not second.full and second.raised == [] and second.looked_at == 0
    assert _events(AuditAction.FLAG_RAISE) == len(first.raised)


@pytest.mark.usefixtures("db", "no_preventive")
def test_incremental_scan_reads_only_the_new_request_and_extends_the_open_split() -> None:
    parts = [plant(a, days_ago=d) for a, d in (("6000.00", 6), ("5000.00", 4))]
    scan()
    split = flags_of(FlagType.SPLIT_PAYMENT)
    assert [numbers(x) for x in split] == [{r.number for r in parts}]
    third = plant("5500.00", days_ago=1)
    result = scan()
    assert result.looked_at == 1 and not [x for x in result.raised if x.kind == FlagType.SPLIT_PAYMENT]
    assert numbers(flags_of(FlagType.SPLIT_PAYMENT)[0]) == {r.number for r in [*parts, third]}
    assert _events(AuditAction.FLAG_UPDATE) == 1


@pytest.mark.usefixtures("db", "no_preventive")
def test_export_is_json_lines_in_the_exchange_format() -> None:
    parts = [plant(a, days_ago=d) for a, d in (("9800.00", 5), ("9700.00", 3), ("9800.00", 1))]
    scan()
    lines = [json.loads(line) for line in export_lines()]
    split = next(x for x in lines if x["type"] == "split_payment")
    assert set(split) == {"id", "type", "severity", "village", "requests", "statement_lines", "summary", "raised_at",
                          "status"}
    assert split["severity"] == "red" and split["village"] == "HL-YC-01" and split["status"] == "open"
    assert split["requests"] == [r.number for r in parts] and split["statement_lines"] == []
    assert split["raised_at"].endswith("+08:00")


def test_cli_scan_then_export(app: Flask, db: object) -> None:
    runner = app.test_cli_runner()
    result: Result = runner.invoke(args=["flags", "scan"])
    assert result.exit_code == 0, result.output
    again = runner.invoke(args=["flags", "scan"])
    assert "raised 0 flags" in again.output
    out = runner.invoke(args=["flags", "export"])
    assert out.exit_code == 0
    assert all(json.loads(line)["type"] in {t.value for t in FlagType} for line in out.output.splitlines())


@pytest.mark.usefixtures("db")
def test_flags_are_on_the_request_at_submit_before_step_one() -> None:
    req = ch.draft("9900.00", payee="濮阳市华龙区兴农农资经营部", purpose="春节购买烟酒")
    ch.attach(req, ch.jpeg(ch.slip_image("收条" + uuid.uuid4().hex)), kind=ch.AttachmentKind.FISCAL_RECEIPT)
    requests.submit(req.requester, req, client_key=uuid.uuid4().hex)
    db.session.flush()
    kinds = set(db.session.execute(select(RiskFlag.kind).where(RiskFlag.source == "submit")).scalars())
    assert {FlagType.NEGATIVE_LIST, FlagType.JUST_UNDER_BAND, FlagType.RECEIPT_AS_INVOICE} <= kinds
    assert req.step == 1
