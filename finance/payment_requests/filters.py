"""The filters of a request list, shared by the requests page and the liaison's query page: one form,
one parser, one set of messages. A malformed filter is refused with a message under its field and left
out of the search; the others still apply."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField

from finance.money import AmountError, parse_amount
from finance.orgs.models import OrgUnit
from finance.payment_requests.forms import parse_date
from finance.payment_requests.models import MAX_LENGTH
from finance.workflow import State

NAMES = ("state", "village", "date_from", "date_to", "amount_min", "amount_max", "payee")


class FilterForm(FlaskForm):
    """The filters (GET, so no CSRF token)."""

    class Meta:
        csrf = False

    state = SelectField(_l("状态"), choices=[], validate_choice=False)
    village = SelectField(_l("村"), choices=[], validate_choice=False)
    date_from = StringField(_l("起始日期"), render_kw={"type": "date"})
    date_to = StringField(_l("截止日期"), render_kw={"type": "date"})
    amount_min = StringField(_l("最低金额"), render_kw={"inputmode": "decimal"})
    amount_max = StringField(_l("最高金额"), render_kw={"inputmode": "decimal"})
    payee = StringField(_l("收款人"), render_kw={"type": "search", "maxlength": MAX_LENGTH["payee_name"]})


@dataclass(frozen=True)
class RequestFilters:
    """The accepted filters, as `queries.search` takes them; `errors` names the refused ones."""

    states: list[State] | None = None
    village_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    payee: str | None = None
    errors: dict[str, str] = field(default_factory=dict)
    given: dict[str, str] = field(default_factory=dict)  # the accepted filters as typed, for links

    def search_args(self) -> dict[str, Any]:
        args = asdict(self)
        del args["errors"], args["given"]
        return args


def read_filters(form: FilterForm, villages: list[OrgUnit]) -> RequestFilters:
    """Parse the form's filters against the villages the user may see (their choices); messages go
    under the refused fields."""
    form.state.choices = [("", _("全部状态"))] + [(s.value, s.label) for s in State]
    form.village.choices = [("", _("全部村"))] + [(str(v.id), v.name) for v in villages]
    errors: dict[str, str] = {}
    raw = {name: (getattr(form, name).data or "").strip() for name in NAMES}

    state = None
    if raw["state"]:
        state = next((s for s in State if s.value == raw["state"]), None)
        if state is None:
            errors["state"] = _("请从列表中选择状态。")
    village_id = None
    if raw["village"]:
        village_id = next((v.id for v in villages if str(v.id) == raw["village"]), None)
        if village_id is None:  # unknown, or outside the user's scope: the same answer
            errors["village"] = _("请从列表中选择村。")
    dates: dict[str, date | None] = {}
    for name in ("date_from", "date_to"):
        try:
            dates[name] = parse_date(raw[name])
        except ValueError as exc:
            dates[name], errors[name] = None, str(exc)
    amounts: dict[str, Decimal | None] = {}
    for name in ("amount_min", "amount_max"):
        amounts[name] = None
        if raw[name]:
            try:
                amounts[name] = parse_amount(raw[name], current_app.config["MAX_AMOUNT"])
            except AmountError as exc:
                errors[name] = str(exc)
    payee = raw["payee"][: MAX_LENGTH["payee_name"]] or None

    for name, message in errors.items():
        getattr(form, name).errors = [message]
    given = {name: raw[name] for name in NAMES if raw[name] and name not in errors}
    return RequestFilters(
        states=[state] if state else None,
        village_id=village_id,
        date_from=dates["date_from"],
        date_to=dates["date_to"],
        amount_min=amounts["amount_min"],
        amount_max=amounts["amount_max"],
        payee=payee,
        errors=errors,
        given=given,
    )
