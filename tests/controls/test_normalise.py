"""Normalisers (finance/controls/normalise.py): full-width and half-width, spaces, punctuation, legal-form
suffixes, accounts, invoice numbers, ID numbers (GB 11643-1999), businesses."""

from __future__ import annotations

import pytest
from flask import Flask
from flask_babel import Babel

from finance.controls.normalise import (
    NormaliseError,
    account_error,
    id_check_char,
    invoice_key,
    is_business,
    name_key,
    normalise_account,
    normalise_id_number,
    normalise_name,
    parse_accounts,
    parse_id_number,
    parse_invoice_code,
    parse_invoice_number,
)


@pytest.fixture(scope="module", autouse=True)
def ctx():
    """gettext needs an app with Babel; no database is needed here."""
    bare = Flask(__name__)
    Babel(bare, default_locale="zh_Hans_CN")
    with bare.app_context():
        yield


def make_id(first17: str) -> str:
    return first17 + id_check_char(first17)


VALID_ID = make_id("41090219800101123")  # 濮阳 1980-01-01


@pytest.mark.parametrize(("a", "b"), [
    ("宏达建材商店", "宏达建材店"),
    ("濮阳市华龙区宏达建材商店（个体工商户）", "濮阳市华龙区宏达建材店"),
    ("濮阳市明亮照明工程有限公司", "濮阳市明亮照明工程有限责任公司"),
    ("濮阳市明亮照明工程有限公司", "濮阳市 明亮照明工程 公司"),
    ("ＡＢＣ建材（濮阳）有限公司", "abc建材(濮阳)有限公司"),  # full-width letters and brackets
    ("张　三", "张三"),  # ideographic space
    ("张 三 ", " 张三"),
    ("阿卜杜·热合曼", "阿卜杜热合曼"),  # middle dot of a name
    ("华龙区第１加油站", "华龙区第1加油站"),
    ("王五个体户", "王五个体"),
])
def test_names_that_are_one_payee_have_one_key(a, b):
    assert name_key(a) == name_key(b)


@pytest.mark.parametrize(("a", "b"), [
    ("宏达建材商店", "宏远建材商店"),
    ("濮阳市宏达建材商店", "宏达建材商店"),  # a place prefix is part of the name: never dropped
    ("张三", "张山"),
    ("王建国", "王建军"),  # same surname is nothing
    ("李秀英", "李"),
])
def test_different_payees_keep_different_keys(a, b):
    assert name_key(a) != name_key(b)


def test_a_suffix_is_never_stripped_to_almost_nothing():
    assert name_key("商店") == "商店"
    assert name_key("好店") == "好店"
    assert name_key("公司") == "公司"
    assert name_key("") == ""
    assert name_key(None) == ""


def test_normalise_name_keeps_the_suffix():
    assert normalise_name("宏达建材商店（个体工商户）") == "宏达建材商店个体工商户"
    assert normalise_name("Ｈｏｎｇｄａ  Ltd.") == "hongdaltd"


@pytest.mark.parametrize(("typed", "digits"), [
    ("6228 4800 1234 5678 901", "6228480012345678901"),
    ("６２２８４８００１２３４５６７８９０１", "6228480012345678901"),
    ("6228-4800-1234-5678-901", "6228480012345678901"),
    (" 622848\u30000012345678901 ", "6228480012345678901"),
    ("", ""),
])
def test_accounts_are_their_digits(typed, digits):
    assert normalise_account(typed) == digits


def test_account_errors_are_chinese():
    assert account_error("6228 4800 1234") is None
    assert "数字" in account_error("6228abc")
    assert "8 到 32" in account_error("12345")
    assert account_error("") == "请填写银行账号。"


def test_several_accounts_split_and_deduplicated():
    assert parse_accounts("6228 4800 1234 5678；６２１７０００１１１１２２２２３３３,6228480012345678") == [
        "6228480012345678", "621700011112222333"]
    assert parse_accounts("") == []
    with pytest.raises(NormaliseError, match="账号“12a4”"):
        parse_accounts("6228480012345678;12a4")


@pytest.mark.parametrize(("typed", "number"), [
    ("12345678", "12345678"),
    ("１２３４５６７８", "12345678"),
    ("2541 2000 0000 1234 5678", "25412000000012345678"),
    ("25412000000012345678", "25412000000012345678"),
])
def test_invoice_numbers(typed, number):
    assert parse_invoice_number(typed) == number


@pytest.mark.parametrize(("typed", "message"), [
    ("1234567", "应为 8 位（增值税发票）或 20 位（数电票），现在是 7 位"),
    ("123456789", "现在是 9 位"),
    ("1234567890123456789", "现在是 19 位"),
    ("1234567A", "只能是数字"),
    ("NO.12345678", "只能是数字"),
    ("", "请填写发票号码"),
])
def test_bad_invoice_numbers_are_refused_in_chinese(typed, message):
    with pytest.raises(NormaliseError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_invoice_number(typed)


def test_invoice_code_and_key():
    assert parse_invoice_code("") is None
    assert parse_invoice_code("4100 2312 30") == "4100231230"
    with pytest.raises(NormaliseError, match="10 位或 12 位"):
        parse_invoice_code("41002")
    number20 = "25412000000012345678"
    assert invoice_key(number20, "4100231230", "甲") == number20  # a 数电票 number stands alone
    assert invoice_key("00001234", "4100231230") != invoice_key("00001234", "4100231231")
    # Without a code, the seller tells two sellers' 00001234 apart; one seller's spellings do not.
    assert invoice_key("00001234", None, "宏达建材商店") == invoice_key("00001234", None, "宏达建材店")
    assert invoice_key("00001234", None, "宏达建材商店") != invoice_key("00001234", None, "宏远建材商店")


def test_id_number_checksum_gb11643():
    # The standard's worked example: 11010519491231002X.
    assert id_check_char("11010519491231002") == "X"
    assert parse_id_number("11010519491231002x") == "11010519491231002X"
    assert parse_id_number(" １１０１０５１９４９１２３１００２Ｘ ") == "11010519491231002X"
    assert parse_id_number(VALID_ID) == VALID_ID


@pytest.mark.parametrize(("typed", "message"), [
    ("110105194912310021", "校验位不正确"),
    ("11010519491231002", "应为 18 位，现在是 17 位"),
    ("1101051949123100A2", "前 17 位应为数字"),
    ("110105194902300028", "出生日期不存在"),  # 30 February
    ("", "请填写身份证号"),
])
def test_bad_id_numbers_are_refused_in_chinese(typed, message):
    with pytest.raises(NormaliseError, match=message):
        parse_id_number(typed)


def test_normalise_id_keeps_a_bad_check_digit():
    assert normalise_id_number("11010519491231002 1") == "110105194912310021"


@pytest.mark.parametrize("name", [
    "濮阳市华龙区宏达建材商店", "濮阳市明亮照明工程有限公司", "华龙区第一加油站", "东岳村农机专业合作社",
    "岳村镇兴农农资经营部", "濮阳市华龙区便民服务中心", "宏达店", "红星砖厂", "文华办公用品商行", "中石化岳村加油站",
    "老王饭店", "岳村镇卫生院", "张三（个体工商户）",
])
def test_businesses(name):
    assert is_business(name)


@pytest.mark.parametrize("name", ["李秀英", "王建国", "王店", "李厂", "欧阳振华", "阿卜杜·热合曼", "张 三", ""])
def test_people_are_not_businesses(name):
    assert not is_business(name)
