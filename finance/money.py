"""Money as Decimal: parsing what a person typed, and capital numerals (大写) as accountants write them."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from flask_babel import get_locale
from flask_babel import gettext as _

CENT = Decimal("0.01")
DIGITS = "零壹贰叁肆伍陆柒捌玖"
SMALL_UNITS = ("", "拾", "佰", "仟")
GROUP_UNITS = ("", "万", "亿", "万亿")
_AMOUNT_RE = re.compile(r"^[0-9]+(\.[0-9]{1,2})?$")


_FULL_WIDTH = str.maketrans("０１２３４５６７８９．－", "0123456789.-")


class AmountError(ValueError):
    """An amount that cannot be accepted; the message is for the user."""


def parse_amount(text: str | None, maximum: Decimal) -> Decimal:
    """Parse a typed amount ("12,345.6", "￥100") to a 2-place Decimal, or raise AmountError."""
    # A Chinese keyboard may type full-width digits and point (１２３４．５６): read them as the figures.
    raw = (text or "").translate(_FULL_WIDTH).strip()
    raw = raw.replace(",", "").replace("，", "").replace("¥", "").replace("￥", "")
    raw = raw.replace("元", "").strip()
    if not raw:
        raise AmountError(_("请填写金额。"))
    if raw.startswith("-"):
        raise AmountError(_("金额不能为负数。"))
    if re.fullmatch(r"[0-9]*\.[0-9]{3,}", raw):
        raise AmountError(_("金额最多保留两位小数（分）。"))
    if not _AMOUNT_RE.match(raw):
        raise AmountError(_("金额格式不正确，请只填写数字，例如 12345.67。"))
    if len(raw.split(".")[0].lstrip("0")) > 13:  # far above any maximum; no need to build the Decimal
        raise AmountError(_("金额超过单笔上限 %(maximum)s 元。", maximum=format_amount(maximum)))
    try:
        value = Decimal(raw).quantize(CENT)
    except InvalidOperation:  # pragma: no cover - the pattern above admits only valid decimals
        raise AmountError(_("金额格式不正确，请只填写数字，例如 12345.67。")) from None
    if value <= 0:
        raise AmountError(_("金额必须大于零。"))
    if value > maximum:
        raise AmountError(_("金额超过单笔上限 %(maximum)s 元。", maximum=format_amount(maximum)))
    return value


def format_amount(value: Decimal) -> str:
    """12345.6 -> "12,345.60"."""
    return f"{value.quantize(CENT):,.2f}"


def _group_capital(group: int) -> str:
    """Four digits (1..9999) without their group unit: zeros inside make one 零, trailing zeros nothing."""
    out: list[str] = []
    zero_pending = False
    for pos, ch in zip(range(3, -1, -1), f"{group:04d}", strict=True):
        digit = int(ch)
        if digit == 0:
            zero_pending = bool(out)
            continue
        if zero_pending:
            out.append("零")
            zero_pending = False
        out.append(DIGITS[digit] + SMALL_UNITS[pos])
    return "".join(out)


def _integer_capital(n: int) -> str:
    """A positive integer below 10^16 in capital numerals, by groups of four digits (万, 亿, 万亿).

    零 stands once for a run of zeros that reaches into a lower group: before a group that starts with
    zero (壹万零壹 for 10,001) or after a whole group of zeros (壹亿零壹仟 for 100,001,000). Zeros at
    the end of a group before a group that starts with a digit are not read (壹拾万柒仟 for 107,000).
    """
    if n <= 0 or n >= 10**16:
        raise ValueError("amount out of range for capital numerals")
    groups: list[int] = []
    while n:
        n, group = divmod(n, 10000)
        groups.append(group)
    out: list[str] = []
    zero_pending = False
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            zero_pending = bool(out)
            continue
        if out and (zero_pending or group < 1000):
            out.append("零")
        zero_pending = False
        out.append(_group_capital(group) + GROUP_UNITS[index])
    return "".join(out)


def to_capital(value: Decimal, prefix: bool = False) -> str:
    """Capital numerals for an amount: Decimal("10001") -> "壹万零壹元整".

    One 零 stands for a run of zeros inside the number and before a group that starts with zero; 整
    follows 元 or 角 when nothing comes after; when 元 ends in zero and 角 is not zero, 零 follows 元
    (as in the 会计基础工作规范 example 壹仟陆佰捌拾元零叁角贰分).
    """
    if value < 0:
        raise ValueError("negative amounts have no capital form here")
    cents = int(value.quantize(CENT) * 100)
    yuan, rest = divmod(cents, 100)
    jiao, fen = divmod(rest, 10)
    parts: list[str] = []
    if yuan:
        parts.append(_integer_capital(yuan) + "元")
    if jiao == 0 and fen == 0:
        parts.append("零元整" if not yuan else "整")
    elif jiao == 0:
        parts.append(("零" if yuan else "") + DIGITS[fen] + "分")
    else:
        if yuan and yuan % 10 == 0:
            parts.append("零")
        parts.append(DIGITS[jiao] + "角")
        parts.append(DIGITS[fen] + "分" if fen else "整")
    text = "".join(parts)
    return "人民币" + text if prefix else text


_ONES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
         "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen")
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_SCALES = ("", "thousand", "million", "billion", "trillion")


def _below_thousand(n: int) -> list[str]:
    words: list[str] = []
    hundreds, rest = divmod(n, 100)
    if hundreds:
        words += [_ONES[hundreds], "hundred"]
    if rest >= 20:
        words.append(_TENS[rest // 10] + ("-" + _ONES[rest % 10] if rest % 10 else ""))
    elif rest:
        words.append(_ONES[rest])
    return words


def _integer_words(n: int) -> str:
    if n == 0:
        return "zero"
    words: list[str] = []
    for scale in range(len(_SCALES) - 1, -1, -1):
        group = n // 1000**scale % 1000 if scale < len(_SCALES) - 1 else n // 1000**scale
        if group:
            words += _below_thousand(group) if group < 1000 else [_integer_words(group)]
            if _SCALES[scale]:
                words.append(_SCALES[scale])
    return " ".join(words)


def to_words_en(value: Decimal, prefix: bool = False) -> str:
    """An amount in English words, as on a cheque: Decimal("1200.05") -> "One thousand two hundred yuan
    and five fen"; a whole amount ends in "only". The English reader's counterpart of `to_capital`."""
    if value < 0:
        raise ValueError("negative amounts have no written form here")
    yuan, fen = divmod(int(value.quantize(CENT) * 100), 100)
    if yuan and fen:
        text = f"{_integer_words(yuan)} yuan and {_integer_words(fen)} fen"
    else:
        text = f"{_integer_words(fen)} fen" if fen else f"{_integer_words(yuan)} yuan only"
    text = text[0].upper() + text[1:]
    return "RMB " + text if prefix else text


def amount_in_words(value: Decimal, prefix: bool = False) -> str:
    """大写 for a Chinese page, words for an English one (printed documents always use `to_capital`)."""
    locale = get_locale()
    if locale is not None and locale.language == "en":
        return to_words_en(value, prefix)
    return to_capital(value, prefix)


def typed_in_words(text: str | None, maximum: Decimal, prefix: bool = True) -> str:
    """What someone typed in an amount field, in words as `amount_in_words` writes them; "" while it is
    not an amount `parse_amount` accepts. static/js/amount-words.js shows the same while typing."""
    try:
        return amount_in_words(parse_amount(text, maximum), prefix)
    except AmountError:
        return ""


_DIGIT_VALUE = {ch: i for i, ch in enumerate(DIGITS)}
_SMALL_VALUE = {"拾": 10, "佰": 100, "仟": 1000}


def from_capital(text: str) -> Decimal:
    """Read capital numerals back ("人民币壹万零壹元整" -> Decimal("10001.00")); ValueError if malformed.

    The inverse of `to_capital`, used to check that a printed 大写 and the figures agree. Only the
    form `to_capital` writes is accepted (a stray 零 or a missing 整 is an error)."""
    written = text.strip().removeprefix("人民币")
    if not written:
        raise ValueError("empty")
    rest = written.removesuffix("整")
    yuan_text, sep, cents_text = rest.partition("元")
    if not sep:  # only 角/分 ("伍角", "伍分")
        yuan_text, cents_text = "", rest
    yuan = _read_integer(yuan_text)
    cents = 0
    cents_text = cents_text.removeprefix("零")
    for unit, factor in (("角", 10), ("分", 1)):
        if unit in cents_text:
            head, _sep, cents_text = cents_text.partition(unit)
            if len(head) != 1 or head not in _DIGIT_VALUE or head == "零":
                raise ValueError(f"bad {unit}: {head!r}")
            cents += _DIGIT_VALUE[head] * factor
            cents_text = cents_text.removeprefix("零") if unit == "角" else cents_text
    if cents_text:
        raise ValueError(f"unexpected {cents_text!r}")
    value = (Decimal(yuan) + Decimal(cents) / 100).quantize(CENT)
    if to_capital(value) != written:
        raise ValueError(f"{text!r} is not written the way accountants write {value}")
    return value


def _read_integer(text: str) -> int:
    if text in ("", "零"):
        return 0
    total = section = 0
    digit: int | None = None
    for ch in text.replace("万亿", "兆"):
        if ch in _DIGIT_VALUE:
            if digit is not None:
                raise ValueError(f"two digits in a row in {text!r}")
            digit = _DIGIT_VALUE[ch] or None
            continue
        if ch in _SMALL_VALUE:
            if digit is None:
                raise ValueError(f"unit without digit in {text!r}")
            section += digit * _SMALL_VALUE[ch]
        elif ch in ("万", "亿", "兆"):
            factor = {"万": 10**4, "亿": 10**8, "兆": 10**12}[ch]
            section += digit or 0
            if section == 0:
                raise ValueError(f"empty group before {ch} in {text!r}")
            total += section * factor
            section = 0
        else:
            raise ValueError(f"not a capital numeral: {ch!r}")
        digit = None
    return total + section + (digit or 0)
