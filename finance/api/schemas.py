"""The API's shared types (pydantic v2): money as a string with two decimals (never a JSON number), times
with their offset (China time), ids, keyset pages. The same models validate requests and, through their
JSON Schema, make the OpenAPI document (finance.api.spec): nothing is written twice."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

from finance.params import MAX_ID
from finance.timefmt import CST

MONEY_PATTERN = r"^[0-9]{1,10}(\.[0-9]{1,2})?$"


def _money_text(value: Decimal) -> str:
    return f"{value:.2f}"


def _local_time(value: datetime) -> str:
    return value.astimezone(CST).isoformat()


# An amount the API answers with: "1200.00".
Money = Annotated[
    Decimal,
    PlainSerializer(_money_text, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^-?[0-9]+\.[0-9]{2}$", "examples": ["1200.00"]}),
]
# An amount a client sends: a string of yuan with at most two decimals, e.g. "1200" or "1200.5".
MoneyIn = Annotated[str, Field(pattern=MONEY_PATTERN, max_length=13, examples=["1200.00"])]
# A moment, always with its offset (China time, +08:00).
Time = Annotated[
    datetime,
    PlainSerializer(_local_time, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time", "examples": ["2026-11-30T10:15:00+08:00"]}),
]
Day = Annotated[date, WithJsonSchema({"type": "string", "format": "date", "examples": ["2026-11-30"]})]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]

T = TypeVar("T")


class Schema(BaseModel):
    """Base of every API model: unknown fields are refused (a typo is an error, not silently ignored)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class Out(BaseModel):
    """Base of every answer."""

    model_config = ConfigDict(extra="forbid")


class Page(Out, Generic[T]):
    """One page of a list, newest first (or oldest waiting first for the to-do list). `next` is the
    cursor of the next page (pass it as `after`), null on the last page."""

    items: list[T]
    next: str | None = None


class FieldError(Out):
    field: str
    detail: str


class ProblemOut(Out):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None


def dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")
