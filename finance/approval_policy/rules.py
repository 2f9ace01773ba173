"""Approval rules as data: which roles approve, in which order, from which amount; which attachments a
request needs; from which amount the 四议两公开 evidence is required. Pure Python, no database: a policy
version (`finance.approval_policy.models.RoutingPolicy`) stores them as JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any

from finance.roles import Role

MAJOR_DEFAULT = Decimal("50000")


@dataclass(frozen=True)
class StepRule:
    role: Role
    min_amount: Decimal | None = None  # the step applies at or above this amount
    subjects: tuple[str, ...] = ()  # account subject codes it applies to; empty: all

    def applies(self, amount: Decimal, subject_code: str | None) -> bool:
        if self.min_amount is not None and amount < self.min_amount:
            return False
        return not self.subjects or subject_code in self.subjects


@dataclass(frozen=True)
class AttachmentRule:
    kind: str
    min_amount: Decimal = Decimal("0")
    subjects: tuple[str, ...] = ()

    def applies(self, amount: Decimal, subject_code: str | None) -> bool:
        return amount >= self.min_amount and (not self.subjects or subject_code in self.subjects)


@dataclass(frozen=True)
class Rules:
    steps: tuple[StepRule, ...]
    attachments: tuple[AttachmentRule, ...] = field(default=())
    major_threshold: Decimal = MAJOR_DEFAULT

    def steps_for(self, amount: Decimal, subject_code: str | None) -> list[StepRule]:
        return [s for s in self.steps if s.applies(amount, subject_code)]

    def required_attachments(self, amount: Decimal, subject_code: str | None) -> list[str]:
        kinds: list[str] = []
        for rule in self.attachments:
            if rule.applies(amount, subject_code) and rule.kind not in kinds:
                kinds.append(rule.kind)
        return kinds

    def is_major(self, amount: Decimal) -> bool:
        return amount >= self.major_threshold

    def to_json(self) -> str:
        return json.dumps(
            {
                "steps": [_step_json(s) for s in self.steps],
                "attachments": [
                    {"kind": a.kind, "min_amount": str(a.min_amount), "subjects": list(a.subjects)}
                    for a in self.attachments
                ],
                "major_threshold": str(self.major_threshold),
            },
            ensure_ascii=False,
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> Rules:
        data: dict[str, Any] = json.loads(text)
        return cls(
            steps=tuple(
                StepRule(
                    role=Role(s["role"]),
                    min_amount=Decimal(s["min_amount"]) if s.get("min_amount") is not None else None,
                    subjects=tuple(s.get("subjects") or ()),
                )
                for s in data["steps"]
            ),
            attachments=tuple(
                AttachmentRule(kind=a["kind"], min_amount=Decimal(a.get("min_amount") or "0"),
                               subjects=tuple(a.get("subjects") or ()))
                for a in data.get("attachments", [])
            ),
            major_threshold=Decimal(data.get("major_threshold") or MAJOR_DEFAULT),
        )


def _step_json(step: StepRule) -> dict[str, Any]:
    return {
        "role": step.role.value,
        "min_amount": str(step.min_amount) if step.min_amount is not None else None,
        "subjects": list(step.subjects),
    }


# The default chain of DESIGN.md; townships change it through the admin pages.
DEFAULT_RULES = Rules(
    steps=(
        StepRule(Role.VILLAGE_LEAD),
        StepRule(Role.VILLAGE_SUPERVISOR),
        StepRule(Role.AGENCY_REVIEWER),
        StepRule(Role.TOWNSHIP_LEADER, Decimal("10000")),
        StepRule(Role.TOWNSHIP_HEAD, Decimal("50000")),
    ),
    attachments=(
        AttachmentRule("invoice"),
        AttachmentRule("contract", Decimal("10000")),
        AttachmentRule("minutes", Decimal("50000")),
    ),
    major_threshold=Decimal("50000"),
)


@lru_cache(maxsize=512)
def parse_rules(text: str) -> Rules:
    """`Rules.from_json`, cached: a policy version never changes, so its text parses the same way."""
    return Rules.from_json(text)
