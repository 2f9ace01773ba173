"""Test data for the controls: invoice photos drawn on a template, register lines, requests."""

from __future__ import annotations

import hashlib
import io
import uuid
from datetime import timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import qrcode
from PIL import Image, ImageDraw, ImageFont

from finance.controls import services as controls
from finance.extensions import db
from finance.payment_requests import services as requests
from finance.payment_requests.models import Attachment, AttachmentKind, PaymentRequest
from finance.timefmt import today_local
from tests import factories as f

FONTS = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc")


@cache
def font(size: int) -> Any:
    for path in FONTS:
        if Path(path).is_file():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size)


def invoice_image(number: str, day: str = "2026-11-20", amount: str = "300.00", seller: str = "中石化濮阳岳村加油站",
                  item: str = "*汽油*92号车用汽油(VIB)  升  40.5") -> Image.Image:
    """An invoice as a phone sees it: a 数电票 template with a QR code, number, date, lines, seller."""
    img = Image.new("RGB", (1200, 800), (250, 250, 246))
    d = ImageDraw.Draw(img)
    red = (170, 40, 40)
    d.rectangle([20, 20, 1180, 780], outline=red, width=4)
    d.text((330, 40), "电子发票（普通发票）", font=font(44), fill=red)
    qr = qrcode.make(f"01,32,,{number},{amount},{day.replace('-', '')},,ABCD", box_size=4, border=1)
    img.paste(qr.convert("RGB").resize((150, 150)), (50, 40))
    d.text((800, 110), f"发票号码：{number}", font=font(28), fill="black")
    d.text((800, 150), f"开票日期：{day}", font=font(28), fill="black")
    for y in (200, 320, 600, 680):
        d.line([40, y, 1160, y], fill=red, width=2)
    d.text((60, 220), "购买方：东岳村股份经济合作社", font=font(28), fill="black")
    d.text((60, 340), item, font=font(28), fill="black")
    d.text((60, 620), f"价税合计（小写）¥{amount}", font=font(28), fill="black")
    d.text((60, 700), f"销售方：{seller}", font=font(28), fill="black")
    return img


def slip_image(text: str = "收条 今收到东岳村付来招待费伍佰元") -> Image.Image:
    """A handwritten-looking slip. Different texts are laid out differently (as two slips written by hand
    would be), so that only the same text gives the same picture."""
    seed = int(hashlib.sha256(text.encode()).hexdigest(), 16)
    img = Image.new("RGB", (900, 500), (245, 245, 240))
    draw = ImageDraw.Draw(img)
    x, y = 30 + seed % 200, 60 + (seed >> 8) % 300
    draw.text((x, y), text, font=font(34 + (seed >> 16) % 16), fill=(30, 30, 90))
    for n in range(3):  # a signature's strokes
        bits = seed >> (24 + 12 * n)
        draw.line([(500 + bits % 300, 380 + (bits >> 4) % 80), (540 + (bits >> 2) % 300, 420 + (bits >> 6) % 60)],
                  fill=(30, 30, 90), width=4)
    return img


def jpeg(img: Image.Image, quality: int = 88) -> bytes:
    out = io.BytesIO()
    img.convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


def draft(amount: str = "300.00", payee: str = "中石化濮阳岳村加油站", account: str = "6228480099990001111",
          village: str = "HL-YC-01", accountant: str = "dy_baozhang", **overrides: Any) -> PaymentRequest:
    req = requests.create_draft(f.user(accountant), f.unit(village),
                                f.request_input(amount, payee_name=payee, payee_account=account, **overrides),
                                client_key=uuid.uuid4().hex)
    db.session.flush()
    return req


def attach(req: PaymentRequest, data: bytes, kind: AttachmentKind = AttachmentKind.INVOICE,
           name: str = "fapiao.jpg") -> Attachment:
    return requests.add_attachment(req.requester, req, kind, name, data)


def attach_invoice(req: PaymentRequest, number: str, amount: str | None = None, day: str | None = None,
                   seller: str | None = None, image: bytes | None = None, code: str = "") -> Attachment:
    seller = seller or req.payee_name
    amount = amount or f"{req.amount:f}"
    day = day or (today_local() - timedelta(days=2)).isoformat()
    att = attach(req, image or jpeg(invoice_image(number, day, amount, seller)))
    controls.record_invoice(req.requester, att, controls.InvoiceInput(number=number, code=code, invoice_date=day,
                                                                       seller=seller, amount=amount))
    return att


def submit(req: PaymentRequest) -> PaymentRequest:
    """Submit through the request service (the controls run: a refusal raises RequestError)."""
    requests.submit(req.requester, req, client_key=uuid.uuid4().hex)
    db.session.flush()
    return req


def amount(text: str) -> Decimal:
    return Decimal(text)
