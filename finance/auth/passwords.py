"""Which passwords are refused: the common ones, and those built on words an attacker tries first.

`common_passwords.txt.gz` is the top 10,000 of the list Django ships
(django/contrib/auth/common-passwords.txt.gz, BSD licence; compiled by Royce Williams from breach
corpora), lower-cased, plus passwords common in China (5201314, woaini1314, qq123456 ...)."""

from __future__ import annotations

import gzip
from functools import lru_cache
from pathlib import Path

from flask_babel import gettext as _

LIST = Path(__file__).with_name("common_passwords.txt.gz")
# Words anyone guessing at this app tries first, whoever the user is.
APP_WORDS = ("sanzi", "sanziwangbao", "三资", "网报")
EDGE_JUNK = "0123456789!@#$%^&*()-_=+.,?~`'\" "


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    with gzip.open(LIST, "rt", encoding="utf-8") as fh:
        return frozenset(line.strip() for line in fh if line.strip())


def password_problem(password: str, *, username: str = "", display_name: str = "") -> str | None:
    """Why `password` is refused (a message), or None. Length is checked by the callers."""
    lower = password.lower()
    core = lower.strip(EDGE_JUNK)
    common = common_passwords()
    # Digits alone (a birthday, a phone number, 5201314...) are tried first, whatever the list says.
    only_digits = not core and len(lower) < 12
    if lower in common or core in common or len(set(lower)) <= 2 or only_digits:
        return _("这个密码太常见，很容易被猜中，请换一个。")
    words = [w.lower() for w in (username, display_name, *APP_WORDS) if w and len(w.strip()) >= 2]
    if any(w in lower for w in words if len(w) >= 3 or not w.isascii()):
        return _("密码不能包含用户名、姓名或“sanzi”等容易猜到的词。")
    return None
