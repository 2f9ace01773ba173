"""The amount in words under the amount (issue 16, item 9), in Chromium at 390x844: live while typing
(static/js/amount-words.js), the same as finance/money.py says for thousands of amounts and typed texts,
in English on an English page, and rendered by the server when there is no script."""

from __future__ import annotations

import random
import re
from decimal import Decimal

import pytest

from finance.money import AmountError, parse_amount, to_capital, to_words_en
from tests.browser.request_support import PAYEE, open_request_form, request_id_of, shot_of
from tests.browser.support import check_page

FORM_MAX = Decimal("10000000")  # the app's MAX_AMOUNT (config) in the live server

# Amounts an accountant writes, and the zeros that capital numerals get wrong when they go wrong.
EDGES = ["0.01", "0.05", "0.10", "0.50", "0.99", "1", "1.03", "1.20", "1.23", "9.99", "10", "10.05", "10.50",
         "11", "20", "100", "101", "1000", "1001", "1008", "1010", "1100", "1680.32", "9999.99", "10000",
         "10001", "10010", "10100", "58000", "58500", "100000.05", "100100", "107000.53", "110000.10",
         "1000001", "1001000", "1000000", "9999999.99", "10000000"]
# What a phone keyboard types: full-width figures, separators, currency signs, spaces, slips.
TYPED = ["58,500", "58，500.00", "¥1200", "￥ 1,200.5", "1200元", "  88.8  ", "１２３４．５６", "￥１，２００",
         "\u30001200\u3000", "\t77\n", "\xa012\xa0", "\x1c12", "\ufeff12", "12\u2028", "", " ", "0", "0.00",
         "-5", "－５", "1.234", ".5", "5.", "1e5", "abc", "12a", "1.2.3", "NaN", "٣", "10000000.01",
         "99999999999999999999", "00012.30", "0000000000000012"]


def amounts(n: int, seed: int = 16) -> list[str]:
    """Edge cases, then random amounts of every magnitude from 1 fen to the form's maximum."""
    rng = random.Random(seed)
    out = list(EDGES)
    while len(out) < n:
        digits = rng.randint(1, 9)
        cents = rng.randint(1, 10**digits - 1) * rng.choice([1, 1, 10, 100, 1000])  # some with runs of zeros
        out.append(f"{Decimal(cents) / 100:.2f}")
    return out


def typed_texts(n: int, seed: int = 9) -> list[str]:
    """Random strings from the characters a phone keyboard gives in an amount field."""
    rng = random.Random(seed)
    alphabet = list("0123456789") * 4 + list("０１２３４５６７８９.．,，¥￥元-－ \u3000\ta\ufeff\x1c")
    return list(TYPED) + ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12))) for _ in range(n)]


def python_says(text: str, language: str) -> str | None:
    try:
        value = parse_amount(text, FORM_MAX)
    except AmountError:
        return None
    return to_words_en(value, prefix=True) if language == "en" else to_capital(value, prefix=True)


JS_SAYS = """
([texts, max, language]) => {
  const limit = SanziAmount.cents(max, null);
  return texts.map(t => {
    const c = SanziAmount.cents(t, limit);
    return c === null ? null : (language === 'en' ? SanziAmount.english(c) : SanziAmount.capital(c));
  });
}
"""


@pytest.fixture
def accountant(live, phone):
    return lambda javascript=True, who="", path="/requests/new": _open(phone, javascript, who, path)


def _open(phone, javascript, who, path):
    me = open_request_form(phone, javascript, who)
    if path != "/requests/new":
        me.goto(path)
    return me


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_script_writes_every_amount_as_the_server_does(accountant, live, language):
    me = accountant(who=language)
    texts = amounts(4000) + typed_texts(1500)
    with live.app.test_request_context():  # parse_amount's messages need an app
        expected = [python_says(t, language) for t in texts]
    got = me.page.evaluate(JS_SAYS, [texts, str(FORM_MAX), language])
    differ = [(t, e, g) for t, e, g in zip(texts, expected, got, strict=True) if e != g]
    assert differ == [], f"{len(differ)} of {len(texts)} differ, e.g. {differ[:5]}"
    assert sum(e is not None for e in expected) > 4000  # most are amounts, some are refused
    assert sum(e is None for e in expected) > 100


def test_the_capital_amount_shows_under_the_amount_while_typing(accountant):
    me = accountant()
    page = me.page
    words = page.locator("#amount-words")
    assert words.is_hidden()  # nothing typed yet
    page.locator("main [name=amount]").press_sequentially("58500")
    assert words.inner_text() == "大写：人民币伍万捌仟伍佰元整"
    page.locator("main [name=amount]").press_sequentially(".5")
    assert words.inner_text() == "大写：人民币伍万捌仟伍佰元零伍角整"  # 元 ends in zero: 零 before 角
    check_page(me, "typing")
    shot_of(me, "main fieldset:nth-of-type(2)", "typing-part")
    page.locator("main [name=amount]").press_sequentially("55")  # 58500.555: three decimals, refused
    assert words.is_hidden()
    page.fill("main [name=amount]", "１２，０００")  # a Chinese keyboard's full-width figures
    assert words.inner_text() == "大写：人民币壹万贰仟元整"


def test_the_amount_in_words_is_english_on_an_english_page(accountant):
    me = accountant(who="en", path="/requests/new?lang=en")
    me.page.fill("main [name=amount]", "1200.05")
    assert me.page.locator("#amount-words").inner_text() == \
        "Amount in words: RMB One thousand two hundred yuan and five fen"
    shot_of(me, "main fieldset:nth-of-type(2)", "english-part")


def test_without_javascript_the_saved_amount_is_shown_in_words(accountant, live):
    me = accountant(javascript=False, who="nojs")
    page = me.page
    payee = PAYEE + "（大写）"
    page.fill("main [name=payee_name]", payee)
    page.fill("main [name=amount]", "107000.53")
    me.click("保存草稿")
    assert re.search(r"/requests/\d+$", page.url)
    me.goto(f"/requests/{request_id_of(live, payee)}/edit")
    assert page.locator("#amount-words").inner_text() == "大写：人民币壹拾万柒仟元零伍角叁分"
    shot_of(me, "main fieldset:nth-of-type(2)", "saved-part")
    # sent back with a mistake elsewhere, the typed amount is still written out
    page.fill("main [name=payee_account]", "not a number")
    page.fill("main [name=amount]", "58,500")
    me.click("保存草稿")
    assert page.locator("#amount-words").inner_text() == "大写：人民币伍万捌仟伍佰元整"
