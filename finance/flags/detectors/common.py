"""Small readings several detectors share (not rules of their own: those live in finance/controls)."""

from __future__ import annotations

from functools import lru_cache

from finance.controls.normalise import name_key, normalise_name
from finance.flags.data import Req
from finance.flags.policy import FlagRules


def is_salary(r: Req, rules: FlagRules) -> bool:
    """Wages (应付工资): paying an official is ordinary there."""
    return bool(r.subject_code and (r.subject_code in rules.salary_subjects
                                    or any(r.subject_code.startswith(s) for s in rules.salary_subjects))) or \
        bool(r.subject_name and "应付工资" in r.subject_name)


@lru_cache(maxsize=1024)
def clean_words(words: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """(word, normalised word) for each word that has something left once normalised."""
    return tuple((w, normalise_name(w)) for w in words if normalise_name(w))


@lru_cache(maxsize=65536)
def clean_text(text: str) -> str:
    return normalise_name(text)


def has_word(text: str, words: tuple[str, ...]) -> str | None:
    """The first of `words` found in `text`, both normalised (finance.controls.normalise.normalise_name)."""
    clean = clean_text(text)
    return next((w for w, key in clean_words(words) if key in clean), None)


def is_payout(r: Req, rules: FlagRules) -> bool:
    """Wages and member payouts (补贴, 分红, 误工 …): many people paid alike by design."""
    return is_salary(r, rules) or has_word(r.purpose, rules.payout_words) is not None


def same_name(a: str, b: str) -> bool:
    """Two name keys (finance.controls.normalise.name_key) name one payee: equal, or one inside the other
    (濮阳市华龙区宏达建材 and 宏达建材: the place prefix the normaliser keeps on purpose)."""
    return bool(a and b) and (a == b or (min(len(a), len(b)) >= 3 and (a in b or b in a)))


def key_of(name: str) -> str:
    return name_key(name)
