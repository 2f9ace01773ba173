"""negative_list: a 负面清单 item in the purpose, the payee or an invoice's seller.

Signal: a keyword of the township's 负面清单 (finance/controls, NegativeItem: red for 禁止, yellow for
提醒), or of the district-wide words of the flag policy (烟酒, 礼品, 宴请, 购物卡 …, red), found in the
normalised text (normalise_name)."""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import gettext as _

from finance.controls.models import ListAction
from finance.controls.normalise import normalise_name
from finance.flags.data import Data
from finance.flags.detectors.common import clean_words
from finance.flags.engine import Detector, Finding, request_evidence
from finance.flags.models import Colour, FlagType


def detect(data: Data) -> Iterable[Finding]:
    for r in data.focused():
        sellers = " ".join(i.seller for i in data.invoices(r.id))
        text = normalise_name(f"{r.purpose} {r.payee_name} {sellers}")
        hits: list[tuple[str, str, Colour]] = []
        for item in data.negative_items(r.village_id):
            word = next((k for k in item.keyword_list if normalise_name(k) and normalise_name(k) in text), None)
            if word:
                hits.append((item.item, word, Colour.RED if item.action == ListAction.REFUSE else Colour.YELLOW))
        for word, key in clean_words(data.rules(r.village_id).negative_words):
            if key in text and all(h[1] != word for h in hits):
                hits.append((word, word, Colour.RED))
        if not hits:
            continue
        colour = Colour.RED if any(h[2] is Colour.RED for h in hits) else Colour.YELLOW
        yield Finding(FlagType.NEGATIVE_LIST, colour, r.village_id, f"negative_list:{r.id}",
                      _("用途或收款人涉及负面清单“%(item)s”（关键词“%(word)s”）：%(purpose)s", item=hits[0][0],
                        word=hits[0][1], purpose=r.purpose[:60]),
                      [r], {"requests": [request_evidence(r)],
                            "hits": [{"item": i, "keyword": w, "severity": c.value} for i, w, c in hits]},
                      amount=r.amount, occurred_at=r.at)


DETECTOR = Detector(FlagType.NEGATIVE_LIST, "用途、收款人或发票销售方含本镇负面清单或全区负面清单的关键词。", detect)
