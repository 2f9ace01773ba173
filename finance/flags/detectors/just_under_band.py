"""just_under_band: one amount just under an amount band (审批线), e.g. 9,850.00 under 10,000.00.

Signal: band × (1 − `under_band_margin`) ≤ amount < band, for a band of the township's routing policy;
not for instalments of a contract or resolution, nor wages. Yellow (context: alone it proves nothing)."""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import gettext as _

from finance.flags.data import Data
from finance.flags.detectors.common import is_salary
from finance.flags.engine import Detector, Finding, money, request_evidence
from finance.flags.models import Colour, FlagType


def detect(data: Data) -> Iterable[Finding]:
    for r in data.focused():
        rules = data.rules(r.village_id)
        if is_salary(r, rules) or r.contract_id is not None or r.resolution_id is not None:
            continue
        for band in data.bands(r.village_id):
            if band * (1 - rules.under_band_margin) <= r.amount < band:
                yield Finding(FlagType.JUST_UNDER_BAND, Colour.YELLOW, r.village_id, f"just_under_band:{r.id}",
                              _("金额 %(amount)s 元，略低于 %(band)s 元审批线（差 %(gap)s 元）", amount=money(r.amount),
                                band=money(band), gap=money(band - r.amount)),
                              [r], {"band": str(band), "requests": [request_evidence(r)]},
                              amount=r.amount, occurred_at=r.at)
                break


DETECTOR = Detector(FlagType.JUST_UNDER_BAND, "单笔金额略低于审批线（默认低于审批线 3% 以内）。", detect)
