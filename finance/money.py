"""Money as Decimal: parsing what a person typed, and capital numerals (大写) as accountants write them."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _

CENT = Decimal("0.01")
DIGITS = "零壹贰叁肆伍陆柒捌玖"
SMALL_UNITS = ("", "拾", "佰", "仟")
GROUP_UNITS = ("", "万", "亿", "万")  # the fourth group (10^12) reads as 万亿
_AMOUNT_RE = re.compile(r"^\d{1,12}(\.\d{1,2})?$")


class AmountError(ValueError):
    """An amount that cannot be accepted; the message is for the user."""


def parse_amount(text: str | None, maximum: Decimal) -> Decimal:
    """Parse a typed amount ("12,345.6", "￥100") to a 2-place Decimal, or raise AmountError."""
    raw = (text or "").strip().replace(",", "").replace("，", "").replace("¥", "").replace("￥", "")
    raw = raw.replace("元", "").strip()
    if not raw:
        raise AmountError(_("请填写金额。"))
    if raw.startswith("-"):
        raise AmountError(_("金额不能为负数。"))
    if re.fullmatch(r"\d+\.\d{3,}", raw):
        raise AmountError(_("金额最多保留两位小数（分）。"))
    if not _AMOUNT_RE.match(raw):
        raise AmountError(_("金额格式不正确，请只填写数字，例如 12345.67。"))
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


def _integer_capital(n: int) -> str:
    text = str(n)
    length = len(text)
    out: list[str] = []
    zero_pending = False
    for i, ch in enumerate(text):
        pos = length - 1 - i
        digit = int(ch)
        if digit == 0:
            zero_pending = True
        else:
            if zero_pending and out:
                out.append("零")
            zero_pending = False
            out.append(DIGITS[digit] + SMALL_UNITS[pos % 4])
        if pos % 4 == 0 and pos > 0:
            group = text[max(0, i - 3): i + 1]
            if int(group) > 0:
                out.append(GROUP_UNITS[(pos // 4) % 4] if pos // 4 < 4 else "万亿")
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
