"""Cumulative bands: splitting under a band is counted together (same normalised account or name, same
resolution or contract, within the policy's window) and the request that crosses a band gets its steps
and attachments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from flask import Flask
from flask_babel import Babel

from finance.controls import services as controls
from finance.controls.checks import Code, Severity, Stage, check_request, cumulative_band
from finance.controls.policy import ControlRules
from finance.controls.queries import PastPayment
from finance.payment_requests.models import AttachmentKind
from finance.roles import Role
from tests import factories as f
from tests.controls.helpers import attach, draft, jpeg, slip_image, submit

NOW = datetime(2026, 3, 31, 8, 0, tzinfo=UTC)
BANDS = [Decimal("10000"), Decimal("50000")]


@pytest.fixture
def ctx():
    bare = Flask(__name__)
    Babel(bare, default_locale="zh_Hans_CN")
    with bare.app_context():
        yield


def paid(n, amount, days_ago, account="6228480012345678901", name="宏达建材", contract=None, resolution=None):
    return PastPayment(n, f"ZF2026{n:06d}", Decimal(amount), NOW - timedelta(days=days_ago), account, name,
                       resolution, contract)


# --- the pure function ----------------------------------------------------------------------------------

def test_three_payments_under_the_band_on_one_day_cross_it(ctx):
    current = paid(3, "9700", 0)
    result = cumulative_band(current, [paid(1, "9800", 0), paid(2, "9800", 0)], BANDS, 30, NOW)
    assert result.total == Decimal("29300") and result.band == Decimal("10000") and result.basis == "payee"
    assert result.reason == "近 30 天向同一收款人累计 29,300.00 元"
    assert result.numbers == ("ZF2026000001", "ZF2026000002")


def test_the_same_payee_by_name_alone_counts(ctx):
    current = paid(2, "9000", 0, account="6217000011110000")
    result = cumulative_band(current, [paid(1, "9000", 3, account="6230590000001111")], BANDS, 30, NOW)
    assert result.band == Decimal("10000")


def test_outside_the_window_nothing_counts(ctx):
    assert cumulative_band(paid(2, "9000", 0), [paid(1, "9000", 31)], BANDS, 30, NOW) is None
    assert cumulative_band(paid(2, "9000", 0), [paid(1, "9000", 31)], BANDS, 45, NOW).band == Decimal("10000")


def test_the_same_resolution_counts_whatever_the_payee(ctx):
    current = paid(2, "30000", 0, account="1", name="甲", resolution=7)
    result = cumulative_band(current, [paid(1, "30000", 10, account="2", name="乙", resolution=7)], BANDS, 30, NOW)
    assert result.basis == "resolution" and result.band == Decimal("50000")
    assert result.reason == "近 30 天同一决议下累计 60,000.00 元"


def test_a_request_already_above_a_band_crosses_only_higher_ones(ctx):
    result = cumulative_band(paid(2, "12000", 0), [paid(1, "5000", 1)], BANDS, 30, NOW)
    assert result.total == Decimal("17000") and result.band is None


def test_the_same_cleaner_paid_2400_every_month_crosses_nothing(ctx):
    """Hard negative: the cleaner's 2,400 each month."""
    history = [paid(n, "2400", 30 * n, account="6217000011112222333", name="张德顺") for n in range(1, 12)]
    current = paid(99, "2400", 0, account="6217000011112222333", name="张德顺")
    result = cumulative_band(current, history, BANDS, 30, NOW)
    assert result is not None and result.total == Decimal("4800") and result.band is None


# --- through the check ----------------------------------------------------------------------------------

def test_nine_eight_nine_eight_nine_seven_to_one_account_on_one_day_is_routed_up(db):
    """Issue 11: 9,800 + 9,800 + 9,700 to one account on one day."""
    submit(draft_for("9800.00"))
    second = draft_for("9800.00")
    report = check_request(second, Stage.SUBMIT)
    assert report.route_amount == Decimal("19600.00")
    assert Role.TOWNSHIP_LEADER in report.extra_roles
    missing = [x for x in report.refusals if x.code == Code.BAND_REQUIREMENT_MISSING]
    assert missing and "须补充：合同" in missing[0].message
    attach(second, jpeg(slip_image("合同")), kind=AttachmentKind.CONTRACT)
    assert check_request(second, Stage.SUBMIT).refusals == []
    submit(second)
    third = draft_for("9700.00", payee="濮阳市华龙区 宏达建材店")  # another spelling of the same shop
    attach(third, jpeg(slip_image("合同 3")), kind=AttachmentKind.CONTRACT)
    report = check_request(third, Stage.SUBMIT)
    band = next(x for x in report.findings if x.code == Code.CUMULATIVE_BAND)
    assert band.severity == Severity.WARN
    assert band.message.startswith("近 30 天向同一收款人累计 29,300.00 元")
    assert "达到 10,000.00 元一档" in band.message
    assert report.route_amount == Decimal("29300.00")
    # Each approver sees why.
    seen = check_request(third, Stage.APPROVE, approver=f.user("dy_shuji"))
    assert any("累计 29,300.00 元" in x.message for x in seen.warnings)


_numbers = iter(range(1, 10**6))


def draft_for(amount, payee="濮阳市华龙区宏达建材商店（个体工商户）"):
    from tests.controls.helpers import attach_invoice

    req = draft(amount, payee=payee, account="6228 4800 1234 5678 901")
    attach_invoice(req, f"2541200000{next(_numbers):010d}", amount=amount, seller=payee,
                   image=jpeg(slip_image(f"发票 {amount} {payee}")))
    return req


def test_the_window_is_a_policy_field(db):
    controls.publish_control_rules(f.user("hl_admin"), f.unit("HL-YC"), ControlRules(window_days=1))
    first = draft_for("9800.00")
    submit(first)
    from finance.db import utcnow

    first.submitted_at = utcnow() - timedelta(days=2)
    second = draft_for("9800.00")
    assert Code.CUMULATIVE_BAND not in check_request(second, Stage.SUBMIT).codes()
