"""The flags' thresholds as versioned data per township (FlagPolicy rows); the defaults below hold where a
township has published none. They were chosen so that a clean village sees at most 1 red and 3 yellow
flags a month on the generated history of bench/flags_history.py (its hard negatives included); see
docs/flags.md.

Amount bands are not here: they come from the township's routing policy (the amounts at which steps and
attachments start, finance.controls.policy.bands_of), so a flag speaks of the same 审批线 the village
works under."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from decimal import Decimal
from functools import lru_cache
from typing import Any


@dataclass(frozen=True)
class FlagRules:
    # split payments: a sliding window per normalised account, then name, then similar purpose
    split_window_days: int = 30
    split_min_parts: int = 2
    # a split is either parts each at least this share of the band (9,800 + 9,700 + 9,800 under 10,000;
    # 2 x 6,000) anywhere in the window, or any parts within `split_close_days` of each other (one bill cut in
    # four on one day); small purchases from one shop over a month are neither
    split_min_share: Decimal = Decimal("0.5")
    split_close_days: int = 3
    split_purpose_window_days: int = 7  # different payees, one purpose: only within a short window
    split_purpose_similarity: float = 0.8  # character-bigram Dice of two normalised purposes
    # a single amount this close under a band (share of the band) is "just under"
    under_band_margin: Decimal = Decimal("0.03")
    # duplicate photos: pHash bits that may differ (the controls' own threshold is the upper bound)
    image_distance: int = 10
    # a chain approved faster than this, from submission to the last approval
    fast_seconds: int = 60
    fast_min_steps: int = 2
    # night, China time: from night_start o'clock to night_end o'clock
    night_start: int = 22
    night_end: int = 6
    # an emergency night: at least this many requests of the township approved at night the same night,
    # or a purpose with an emergency word, is context, not a flag
    emergency_night_requests: int = 3
    emergency_words: tuple[str, ...] = ("防汛", "抗洪", "抢险", "救灾", "应急", "抗旱", "疫情防控", "抗疫", "灾后")
    # payee concentration of works in one village and year
    concentration_share: Decimal = Decimal("0.8")
    concentration_min_payments: int = 6
    concentration_min_matters: int = 3  # separate matters (a contract's instalments are one) won by the payee
    concentration_min_total: Decimal = Decimal("100000")
    works_subjects: tuple[str, ...] = ("154", "1504")
    works_words: tuple[str, ...] = ("工程", "施工", "修建", "硬化", "维修", "改造", "铺设", "建设")
    # payments to people that are not splitting (wages, member payouts) are not grouped by purpose
    payout_words: tuple[str, ...] = ("工资", "报酬", "补贴", "补助", "分红", "误工", "慰问", "保洁", "务工")
    salary_subjects: tuple[str, ...] = ("211", "2301")
    member_payout_words: tuple[str, ...] = ("补贴", "分红", "补助")
    # 负面清单 words that hold in every township, beside each township's own list (finance/controls)
    negative_words: tuple[str, ...] = (
        "烟酒", "香烟", "白酒", "红酒", "茅台", "五粮液", "礼品", "礼金", "礼卡", "购物卡", "消费卡", "充值卡",
        "宴请", "吃喝", "旅游费", "外出旅游", "组织旅游", "公款旅游", "旅游观光", "KTV", "洗浴", "足浴", "按摩",
        "高尔夫", "会所", "健身卡", "红包", "麻将",
    )

    def to_json(self) -> str:
        data = asdict(self)
        return json.dumps({k: (str(v) if isinstance(v, Decimal) else list(v) if isinstance(v, tuple) else v)
                           for k, v in data.items()}, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> FlagRules:
        data: dict[str, Any] = json.loads(text or "{}")
        default = cls()
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in data:
                continue
            current = getattr(default, f.name)
            raw = data[f.name]
            if isinstance(current, Decimal):
                values[f.name] = Decimal(str(raw))
            elif isinstance(current, tuple):
                values[f.name] = tuple(str(x) for x in raw)
            elif isinstance(current, float):
                values[f.name] = float(raw)
            else:
                values[f.name] = int(raw)
        return cls(**values)


DEFAULT_FLAG_RULES = FlagRules()


@lru_cache(maxsize=256)
def parse_flag_rules(text: str) -> FlagRules:
    return FlagRules.from_json(text)
