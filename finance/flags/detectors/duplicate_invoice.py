"""duplicate_invoice: one invoice claimed by two requests, anywhere in the district and at any time.

Signals, each red:
  - number: two requests carry invoice facts with one `dup_key` (finance.controls.normalise.invoice_key:
    a 20-digit 数电票 number, or 发票代码 + number, or seller + number);
  - file: two requests carry the very same voucher file (one SHA-256);
  - photo: two voucher photos whose perceptual hashes (finance/controls/images.py) differ in at most
    `image_distance` bits: a copy re-photographed, cropped or recompressed. A pair that the controls'
    second look (images.different_content) finds to be two invoices on one template is not flagged."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import numpy as np
from flask_babel import gettext as _
from sqlalchemy import select

from finance import storage
from finance.controls import images
from finance.controls.models import InvoiceFact
from finance.extensions import db
from finance.flags.data import Data, Photo, Req, invoice_uses, load_requests, photo_uses
from finance.flags.engine import Detector, Finding, request_evidence
from finance.flags.models import Colour, FlagType
from finance.payment_requests.models import PaymentRequest


def _latest(rows: list[Req]) -> Req:
    return max(rows, key=lambda r: (r.at, r.id))


def _by_numbers(data: Data) -> Iterable[Finding]:
    keys = {i.dup_key for r in data.focused() for i in data.invoices(r.id)}
    for key, uses in sorted(invoice_uses(keys).items()):
        reqs = {r.id: r for _inv, r in uses}
        if len(reqs) < 2:
            continue
        rows = sorted(reqs.values(), key=lambda r: (r.at, r.id))
        number = uses[0][0].number
        villages = {data.villages[r.village_id].name for r in rows if r.village_id in data.villages}
        yield Finding(FlagType.DUPLICATE_INVOICE, Colour.RED, _latest(rows).village_id,
                      f"duplicate_invoice:number:{key}",
                      _("发票号码 %(number)s 被 %(n)d 笔申请重复使用（%(villages)s）", number=number, n=len(rows),
                        villages="、".join(sorted(villages))),
                      rows, {"basis": "number", "invoice_number": number,
                             "attachments": sorted({inv.attachment_id for inv, _r in uses
                                                    if inv.attachment_id is not None}),
                             "requests": [request_evidence(r) for r in rows]},
                      amount=rows[-1].amount, occurred_at=rows[-1].at)


def _read(sha256: str) -> bytes | None:
    try:
        return storage.path_for(sha256).read_bytes()
    except (OSError, storage.StorageError):
        return None


def _facts_of(attachment_ids: set[int]) -> dict[int, str]:
    if not attachment_ids:
        return {}
    return {att: key for att, key in db.session.execute(select(InvoiceFact.attachment_id, InvoiceFact.dup_key)
                                                       .where(InvoiceFact.attachment_id.in_(attachment_ids)))
            if att is not None}


def _pairs(mine: list[Photo], others: list[Photo], distance: int) -> list[tuple[Photo, Photo, int]]:
    """Near pairs of photos of different requests, by perceptual hash (numpy popcount over all others)."""
    hashed = [p for p in others if p.phash is not None]
    if not hashed:
        return []
    table = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)
    values = np.array([p.phash for p in hashed], dtype=np.uint64)
    out = []
    seen: set[tuple[int, int]] = set()
    for p in mine:
        if p.phash is None:
            continue
        xor = np.bitwise_xor(values, np.uint64(p.phash))
        bits = table[xor.view(np.uint8).reshape(-1, 8)].sum(axis=1)
        for index in np.nonzero(bits <= distance)[0]:
            q = hashed[int(index)]
            pair = (min(p.attachment_id, q.attachment_id), max(p.attachment_id, q.attachment_id))
            if q.request_id == p.request_id or q.sha256 == p.sha256 or pair in seen:
                continue
            seen.add(pair)
            out.append((p, q, int(bits[index])))
    return out


def _by_photos(data: Data) -> Iterable[Finding]:
    mine, others = photo_uses(None if data.full else data.focus)
    by_sha: dict[str, list[Photo]] = defaultdict(list)
    for p in others:
        by_sha[p.sha256].append(p)
    wanted_ids: set[int] = set()
    groups = []
    for sha in sorted({p.sha256 for p in mine}):
        photos = by_sha.get(sha, [])
        if len({p.request_id for p in photos}) > 1:
            groups.append(("file", sha, photos, 0))
            wanted_ids |= {p.request_id for p in photos}
    rules_distance = min(data.rules(r.village_id).image_distance for r in data.focused()) if data.focus else 0
    pairs = _pairs(mine, others, rules_distance) if data.focus else []
    facts = _facts_of({p.attachment_id for pair in pairs for p in pair[:2]})
    for p, q, bits in pairs:
        fp, fq = facts.get(p.attachment_id), facts.get(q.attachment_id)
        if fp and fq and fp != fq:
            a, b = _read(p.sha256), _read(q.sha256)
            if a is not None and b is not None and images.different_content(a, b):
                continue  # two invoices on one template
        key = f"{min(p.attachment_id, q.attachment_id)}-{max(p.attachment_id, q.attachment_id)}"
        groups.append(("photo", key, [p, q], bits))
        wanted_ids |= {p.request_id, q.request_id}
    if not groups:
        return
    reqs = {r.id: r for r in load_requests(PaymentRequest.id.in_(wanted_ids))}
    for basis, key, photos, bits in groups:
        rows = sorted({reqs[p.request_id].id: reqs[p.request_id] for p in photos if p.request_id in reqs}.values(),
                      key=lambda r: (r.at, r.id))
        if len(rows) < 2:
            continue
        summary = _("同一张票据照片（文件完全相同）被 %(n)d 笔申请使用", n=len(rows)) if basis == "file" else \
            _("两笔申请的票据照片高度相似（相差 %(bits)d 位），可能是同一张票据翻拍", bits=bits)
        yield Finding(FlagType.DUPLICATE_INVOICE, Colour.RED, _latest(rows).village_id,
                      f"duplicate_invoice:{basis}:{key}",
                      summary, rows, {"basis": basis, "distance": bits,
                                      "attachments": [p.attachment_id for p in photos],
                                      "requests": [request_evidence(r) for r in rows]},
                      amount=rows[-1].amount, occurred_at=rows[-1].at)


def detect(data: Data) -> Iterable[Finding]:
    yield from _by_numbers(data)
    yield from _by_photos(data)


DETECTOR = Detector(FlagType.DUPLICATE_INVOICE,
                    "同一张发票（号码相同、文件相同或照片高度相似）在全区被两笔以上申请使用，跨村、跨月都查。", detect)
