"""Normalisers: the one home of how names, bank accounts, invoice numbers and ID numbers are compared.

Every control here and every risk-flag detector (finance/flags/) compares these keys, never the typed text,
so that "宏达建材商店", "宏达建材店" and "宏达建材商店（个体工商户）" are one payee, and "6228 4800 1234"
and "６２２８４８００１２３４" one account.

Names (`name_key`):
  1. Unicode NFKC: full-width letters, digits and brackets become half-width (Ａ→A, １→1, （→( ), the
     ideographic space becomes a space.
  2. Letters are case-folded; every space, punctuation mark and symbol is dropped (·, -, (), 【】, “”, 、 …).
     What is left is letters, digits and CJK characters.
  3. Legal-form suffixes at the end are dropped, repeatedly, longest first (LEGAL_SUFFIXES):
     股份有限公司, 有限责任公司, 有限公司, 公司, 个体工商户, 个体户, 个体, 商店, 店. So "宏达建材商店（个体工商户）"
     → "宏达建材", and "宏达建材店" → "宏达建材". A suffix is never dropped when less than two characters
     would remain ("商店" stays "商店").
  Not done, on purpose: dropping place prefixes (濮阳市华龙区…) or words inside a name, which would merge
  different businesses. Never used: surnames. In many villages most people share one.

`normalise_name` is steps 1 and 2 only (the name as typed, cleaned), for display-independent equality.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from flask_babel import gettext as _

LEGAL_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司", "公司", "个体工商户", "个体户", "个体", "商店", "店")
MIN_KEY_LENGTH = 2


class NormaliseError(ValueError):
    """Input that cannot be read as what it claims to be; the message is for the user (Chinese)."""


def _clean(text: str | None) -> str:
    """NFKC, case-folded, without spaces, punctuation, symbols or control characters."""
    folded = unicodedata.normalize("NFKC", text or "").casefold()
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] in "LN")


def normalise_name(text: str | None) -> str:
    """A name cleaned for comparison: NFKC, case-folded, without spaces and punctuation."""
    return _clean(text)


def name_key(text: str | None) -> str:
    """The key two payee names are compared by: `normalise_name` less legal-form suffixes (see module doc)."""
    key = _clean(text)
    changed = True
    while changed:
        changed = False
        for suffix in LEGAL_SUFFIXES:
            if key.endswith(suffix) and len(key) - len(suffix) >= MIN_KEY_LENGTH:
                key = key[: -len(suffix)]
                changed = True
                break
    return key


# --- bank accounts ---------------------------------------------------------------------------------------

def normalise_account(text: str | None) -> str:
    """A bank account as its digits only: "６２２８ 4800-1234" -> "622848001234". Letters and other
    characters are dropped; whether what is left is a plausible account is `account_error`'s question."""
    folded = unicodedata.normalize("NFKC", text or "")
    return "".join(ch for ch in folded if ch.isascii() and ch.isdigit())


ACCOUNT_LENGTHS = range(8, 33)


def account_error(text: str | None) -> str | None:
    """Why `text` is not a bank account (a Chinese message), or None. Spaces and hyphens are fine."""
    folded = unicodedata.normalize("NFKC", text or "").strip()
    if not folded:
        return _("请填写银行账号。")
    if re.search(r"[^0-9 \-]", folded):
        return _("银行账号只能包含数字（可以有空格）。")
    if len(normalise_account(folded)) not in ACCOUNT_LENGTHS:
        return _("银行账号应为 8 到 32 位数字。")
    return None


def parse_accounts(text: str | None) -> list[str]:
    """Accounts separated by ; ， , 、 or new lines (EXCHANGE.md §2, §3), each normalised; NormaliseError
    names the first that is not an account. Duplicates are given once."""
    out: list[str] = []
    for part in re.split(r"[;；,，、\n]+", unicodedata.normalize("NFKC", text or "")):
        if not part.strip():
            continue
        error = account_error(part)
        if error:
            raise NormaliseError(_("账号“%(account)s”：%(error)s", account=part.strip(), error=error))
        account = normalise_account(part)
        if account not in out:
            out.append(account)
    return out


# --- invoice numbers -------------------------------------------------------------------------------------

INVOICE_NUMBER_LENGTHS = (8, 20)  # 发票号码 of a paper/old electronic 增值税发票; 数电票 (全面数字化的电子发票)
INVOICE_CODE_LENGTHS = (10, 12)  # 发票代码, printed beside an 8-digit number


def parse_invoice_number(text: str | None) -> str:
    """An invoice number: 8 digits (增值税发票) or 20 (数电票); spaces and full-width digits are accepted.
    NormaliseError with a Chinese message otherwise."""
    folded = unicodedata.normalize("NFKC", text or "")
    raw = re.sub(r"[\s\-]", "", folded)
    if not raw:
        raise NormaliseError(_("请填写发票号码。"))
    if not raw.isascii() or not raw.isdigit():
        raise NormaliseError(_("发票号码只能是数字，不能有字母或其他符号。"))
    if len(raw) not in INVOICE_NUMBER_LENGTHS:
        raise NormaliseError(_("发票号码应为 8 位（增值税发票）或 20 位（数电票），现在是 %(n)d 位。", n=len(raw)))
    return raw


def parse_invoice_code(text: str | None) -> str | None:
    """The 发票代码 (10 or 12 digits) of an 8-digit invoice, or None when left empty."""
    raw = re.sub(r"[\s\-]", "", unicodedata.normalize("NFKC", text or ""))
    if not raw:
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) not in INVOICE_CODE_LENGTHS:
        raise NormaliseError(_("发票代码应为 10 位或 12 位数字。"))
    return raw


def invoice_key(number: str, code: str | None = None, seller: str | None = None) -> str:
    """What makes an invoice the same invoice. A 20-digit 数电票 number is unique nationwide. An 8-digit
    number is unique only within its 发票代码, so the key is code + number; without a code (history
    imports) the seller's name key stands in for it, so that two sellers' invoice 00001234 never collide."""
    if len(number) == 20:
        return number
    if code:
        return f"{code}-{number}"
    return f"{name_key(seller)}-{number}"


# --- ID numbers (居民身份证号码, GB 11643-1999) ------------------------------------------------------------

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"


def id_check_char(first17: str) -> str:
    """The check character of GB 11643-1999 (ISO 7064 MOD 11-2) for 17 digits."""
    return ID_CHECK[sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def parse_id_number(text: str | None) -> str:
    """An 18-character 身份证号 (17 digits and a check digit or X), upper-cased, checksum and birth date
    verified; NormaliseError with a Chinese message otherwise."""
    raw = re.sub(r"\s", "", unicodedata.normalize("NFKC", text or "")).upper()
    if not raw:
        raise NormaliseError(_("请填写身份证号。"))
    if len(raw) != 18:
        raise NormaliseError(_("身份证号应为 18 位，现在是 %(n)d 位。", n=len(raw)))
    if not (raw[:17].isascii() and raw[:17].isdigit()) or raw[17] not in "0123456789X":
        raise NormaliseError(_("身份证号前 17 位应为数字，最后一位为数字或 X。"))
    try:
        born = date(int(raw[6:10]), int(raw[10:12]), int(raw[12:14]))
    except ValueError:
        raise NormaliseError(_("身份证号中的出生日期不存在。")) from None
    if born.year < 1900 or born > date.today():
        raise NormaliseError(_("身份证号中的出生日期不合理。"))
    if id_check_char(raw[:17]) != raw[17]:
        raise NormaliseError(_("身份证号校验位不正确，请核对是否抄错。"))
    return raw


def normalise_id_number(text: str | None) -> str:
    """An ID number as compared (NFKC, no spaces, X upper-case), without checking it: history keeps what
    was written, and a bad check digit must still match itself."""
    return re.sub(r"\s", "", unicodedata.normalize("NFKC", text or "")).upper()


# --- businesses ------------------------------------------------------------------------------------------

# Words that mark a business (a company, a shop, a workshop, a cooperative, a unit) anywhere in the name.
BUSINESS_WORDS = ("公司", "有限", "集团", "个体工商户", "合作社", "经营部", "门市部", "服务部", "中心", "商行",
                  "商店", "超市", "商贸", "工贸", "批发", "加油站", "酒店", "宾馆", "饭店", "工作室", "事务所",
                  "医院", "卫生院", "诊所", "药房", "药店", "银行", "学校", "厂", "店", "场", "馆", "站", "院")
# One-character words mark a business only at the end of a name of at least this many characters, so a
# person named 王店 or 李厂 (two characters) is not taken for one.
SHORT_WORD_MIN_NAME = 3


def is_business(payee_name: str | None) -> bool:
    """Is this payee a business (company, shop, factory, cooperative, 经营部, 中心 …) rather than a person?
    A business is paid against a 发票, never a receipt or a 签收单."""
    name = normalise_name(payee_name)
    for word in BUSINESS_WORDS:
        if len(word) > 1:
            if word in name:
                return True
        elif name.endswith(word) and len(name) >= SHORT_WORD_MIN_NAME:
            return True
    return False
