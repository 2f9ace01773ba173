"""Control settings as versioned data per township (ControlPolicy rows); the defaults below hold where a
township has published none. Amount bands themselves come from the township's routing policy (the
amounts at which steps and attachments start)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import Any

from finance.controls.models import MatterKind


@dataclass(frozen=True)
class ControlRules:
    window_days: int = 30  # cumulative bands look back this far
    quorum: Fraction = Fraction(2, 3)  # 实到 / 应到 of a 四议两公开 meeting
    # Matters that need a 四议两公开 resolution whatever the amount.
    major_matters: tuple[MatterKind, ...] = (MatterKind.WORKS, MatterKind.ASSET_DISPOSAL, MatterKind.CONTRACTING)
    # Words in a request's purpose that name such a matter, so a request without a resolution is caught.
    matter_words: dict[str, tuple[str, ...]] = field(default_factory=lambda: {
        MatterKind.WORKS.value: ("工程", "施工", "修建", "硬化", "维修改造"),
        MatterKind.ASSET_DISPOSAL.value: ("资产处置", "变卖", "出售集体", "拍卖"),
        MatterKind.CONTRACTING.value: ("发包", "承包"),
    })
    # Subjects under which paying an official is ordinary (his salary): no related-person warning.
    salary_subjects: tuple[str, ...] = ("211", "2301")
    image_distance: int = 12  # pHash bits that may differ between two photos of one invoice
    # Committee steps: a step of this role needs this many of its holders to agree (村监会 two of three).
    committee: dict[str, int] = field(default_factory=dict)
    # The agency marks "原件已收" (the paper vouchers arrived) before the cashier may pay.
    originals_before_payment: bool = False

    def to_json(self) -> str:
        return json.dumps({
            "window_days": self.window_days, "quorum": f"{self.quorum.numerator}/{self.quorum.denominator}",
            "major_matters": [m.value for m in self.major_matters],
            "matter_words": {k: list(v) for k, v in self.matter_words.items()},
            "salary_subjects": list(self.salary_subjects), "image_distance": self.image_distance,
            "committee": dict(self.committee), "originals_before_payment": self.originals_before_payment,
        }, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ControlRules:
        data: dict[str, Any] = json.loads(text)
        default = cls()
        return cls(
            window_days=int(data.get("window_days", default.window_days)),
            quorum=Fraction(data["quorum"]) if data.get("quorum") else default.quorum,
            major_matters=tuple(MatterKind(m) for m in data.get("major_matters", default.major_matters)),
            matter_words={k: tuple(v) for k, v in data["matter_words"].items()}
            if "matter_words" in data else default.matter_words,
            salary_subjects=tuple(data.get("salary_subjects", default.salary_subjects)),
            image_distance=int(data.get("image_distance", default.image_distance)),
            committee={str(k): int(v) for k, v in (data.get("committee") or {}).items()},
            originals_before_payment=bool(data.get("originals_before_payment", False)),
        )


DEFAULT_CONTROL_RULES = ControlRules()


@lru_cache(maxsize=256)
def parse_control_rules(text: str) -> ControlRules:
    return ControlRules.from_json(text)


def bands_of(steps_min: list[Decimal | None], attachments_min: list[Decimal], major: Decimal) -> list[Decimal]:
    """The amounts at which a routing policy asks for more (a step or an attachment starts, the major
    threshold), ascending, without zero."""
    return sorted({a for a in [*steps_min, *attachments_min, major] if a is not None and a > 0})
