"""Amounts as a person types them, and capital numerals (大写) as a Chinese accountant writes them."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from flask import Flask
from flask_babel import Babel
from hypothesis import given, settings
from hypothesis import strategies as st

from finance.money import AmountError, format_amount, from_capital, parse_amount, to_capital

MAX = Decimal("10000000")

CAPITALS = [
    # the figures of issue 3
    ("0.05", "伍分"),
    ("0.50", "伍角整"),
    ("10", "壹拾元整"),
    ("10.05", "壹拾元零伍分"),
    ("100", "壹佰元整"),
    ("1000", "壹仟元整"),
    ("10001", "壹万零壹元整"),
    ("100000.05", "壹拾万元零伍分"),
    ("1000000", "壹佰万元整"),
    ("12345678.90", "壹仟贰佰叁拾肆万伍仟陆佰柒拾捌元玖角整"),
    ("100010000", "壹亿零壹万元整"),
    # the examples of 会计基础工作规范
    ("1680.32", "壹仟陆佰捌拾元零叁角贰分"),
    ("107000.53", "壹拾万柒仟元零伍角叁分"),
    ("1008", "壹仟零捌元整"),
    # zeros inside a group: one 零 for the run
    ("1010", "壹仟零壹拾元整"),
    ("1001", "壹仟零壹元整"),
    ("101", "壹佰零壹元整"),
    ("10.50", "壹拾元零伍角整"),
    # zeros at the end of a group are not read
    ("20", "贰拾元整"),
    ("1100", "壹仟壹佰元整"),
    ("200000", "贰拾万元整"),
    # a group starting with zero gets 零 before it
    ("100100", "壹拾万零壹佰元整"),
    ("10010", "壹万零壹拾元整"),
    ("1000001", "壹佰万零壹元整"),
    # a whole group of zeros
    ("100000001", "壹亿零壹元整"),
    ("100001000", "壹亿零壹仟元整"),
    ("1000010000", "壹拾亿零壹万元整"),
    ("100000000", "壹亿元整"),
    # a group that starts with a digit after zeros at the end of the group above
    ("1001000", "壹佰万壹仟元整"),
    ("110000.10", "壹拾壹万元零壹角整"),
    # 元 / 角 / 分 and 整
    ("1", "壹元整"),
    ("1.20", "壹元贰角整"),
    ("1.23", "壹元贰角叁分"),
    ("1.03", "壹元零叁分"),
    ("0.12", "壹角贰分"),
    ("0.10", "壹角整"),
    ("11", "壹拾壹元整"),
    ("123456789012.34", "壹仟贰佰叁拾肆亿伍仟陆佰柒拾捌万玖仟零壹拾贰元叁角肆分"),
    ("1000000000000", "壹万亿元整"),
]


@pytest.mark.parametrize(("figures", "capital"), CAPITALS)
def test_to_capital_writes_as_an_accountant(figures: str, capital: str) -> None:
    assert to_capital(Decimal(figures)) == capital
    assert from_capital(capital) == Decimal(figures)


def test_to_capital_prefix_and_zero() -> None:
    assert to_capital(Decimal("12345.67"), prefix=True) == "人民币壹万贰仟叁佰肆拾伍元陆角柒分"
    assert to_capital(Decimal("0")) == "零元整"
    assert from_capital("人民币壹万零壹元整") == Decimal("10001.00")


def test_to_capital_refuses_negative() -> None:
    with pytest.raises(ValueError):
        to_capital(Decimal("-1"))


@pytest.mark.parametrize("bad", ["", "壹拾零元整", "元整", "壹壹元整", "拾元整", "壹元零分", "壹美元"])
def test_from_capital_refuses_malformed(bad: str) -> None:
    with pytest.raises(ValueError):
        from_capital(bad)


amounts = st.integers(min_value=1, max_value=999_999_999_999_99).map(lambda c: Decimal(c) / 100)


@settings(max_examples=400, deadline=None)
@pytest.mark.slow  # hypothesis: many generated examples
@given(amounts)
def test_capital_has_no_bad_zeros_and_round_trips(value: Decimal) -> None:
    text = to_capital(value)
    assert "零零" not in text
    assert not text.endswith("零")
    assert not re.search(r"零[拾佰仟万亿元角分整]", text), text  # 零 is never followed by a unit
    assert "拾零" not in text or re.search(r"拾零[壹贰叁肆伍陆柒捌玖]", text), text
    assert not re.search(r"[拾佰仟]零(元|万|亿)", text), text  # no "贰拾零元"
    assert text.endswith(("整", "分")), text
    assert not text.startswith("零") or text == "零元整"
    assert from_capital(text) == value.quantize(Decimal("0.01"))
    assert from_capital("人民币" + text) == value.quantize(Decimal("0.01"))


@settings(max_examples=200, deadline=None)
@pytest.mark.slow  # hypothesis: many generated examples
@given(st.integers(min_value=1, max_value=9_999_999_999_99))
def test_capital_zero_before_group_starting_with_zero(cents: int) -> None:
    value = Decimal(cents) / 100
    yuan = cents // 100
    text = to_capital(value)
    if yuan >= 10000 and 0 < yuan % 10000 < 1000:  # the units group starts with zero
        assert "万零" in text or "亿零" in text, text


# --- parse_amount -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ctx():
    """gettext needs an app with Babel; no database is needed here."""
    bare = Flask(__name__)
    Babel(bare, default_locale="zh_Hans_CN")
    with bare.app_context():
        yield


@pytest.mark.parametrize(("typed", "expected"), [
    ("1200", "1200.00"),
    ("1200.5", "1200.50"),
    ("0.01", "0.01"),
    ("12,345.67", "12345.67"),
    ("12，345.67", "12345.67"),
    ("￥100", "100.00"),
    ("¥ 100.00", "100.00"),
    ("100元", "100.00"),
    ("  88.8  ", "88.80"),
    ("１２３４．５６", "1234.56"),
    ("￥１，２００", "1200.00"),
    ("10000000", "10000000.00"),
])
def test_parse_amount_accepts(ctx: None, typed: str, expected: str) -> None:
    value = parse_amount(typed, MAX)
    assert value == Decimal(expected)
    assert value.as_tuple().exponent == -2


@pytest.mark.parametrize(("typed", "message"), [
    ("", "请填写金额。"),
    ("   ", "请填写金额。"),
    (None, "请填写金额。"),
    ("0", "金额必须大于零。"),
    ("0.00", "金额必须大于零。"),
    ("-5", "金额不能为负数。"),
    ("-0.01", "金额不能为负数。"),
    ("1.234", "金额最多保留两位小数（分）。"),
    ("0.001", "金额最多保留两位小数（分）。"),
    ("abc", "金额格式不正确，请只填写数字，例如 12345.67。"),
    ("12a", "金额格式不正确，请只填写数字，例如 12345.67。"),
    ("1e5", "金额格式不正确，请只填写数字，例如 12345.67。"),
    ("1.2.3", "金额格式不正确，请只填写数字，例如 12345.67。"),
    ("NaN", "金额格式不正确，请只填写数字，例如 12345.67。"),
    ("٣", "金额格式不正确，请只填写数字，例如 12345.67。"),  # digits of other scripts are not figures
    ("－５", "金额不能为负数。"),
    ("10000000.01", "金额超过单笔上限 10,000,000.00 元。"),
    ("99999999999999999999", "金额超过单笔上限 10,000,000.00 元。"),
])
def test_parse_amount_refuses_with_chinese_message(ctx: None, typed: str | None, message: str) -> None:
    with pytest.raises(AmountError) as exc:
        parse_amount(typed, MAX)
    assert str(exc.value) == message


def test_format_amount() -> None:
    assert format_amount(Decimal("12345.6")) == "12,345.60"
    assert format_amount(Decimal("0.5")) == "0.50"
