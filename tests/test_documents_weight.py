"""What a printed document weighs (issue 16, item 14): at most 100 KB a page, because each CJK face is cut
to the document's characters before WeasyPrint embeds it (finance/documents/fonts.py), and what that
cut must not cost: every character still prints with its own glyph (no boxes), bold text is set in a
face of its own, and a machine that cannot cut fonts still prints, only heavier."""

from __future__ import annotations

import io
import re
import uuid

import pytest
from fontTools.pens.boundsPen import BoundsPen
from fontTools.ttLib import TTFont
from pypdf import PdfReader
from sqlalchemy import select

from finance.documents import fonts
from finance.extensions import db
from finance.payment_requests import services as requests
from finance.payments.models import Payment
from finance.timefmt import today_local
from finance.workflow import State
from tests import factories as f
from tests.test_documents import embedded_fonts, login, pdf_pages, returned_then_paid

PAGE_LIMIT = 100 * 1024
RARE_PAYEE = "濮阳市华龙区犇鑫堃喆建材经营部"  # 犇 鑫 堃 喆: in names, rare in forms


def cid_fonts(data: bytes) -> dict[str, tuple[TTFont, dict[int, str]]]:
    """Each embedded composite font of the PDF: its font program (fontTools) and its ToUnicode map
    (glyph id -> text), as a viewer or printer reads them."""
    out = {}
    for page in PdfReader(io.BytesIO(data)).pages:
        for ref in page["/Resources"]["/Font"].values():
            font = ref.get_object()
            name = str(font["/BaseFont"])
            if name in out or font["/Subtype"] != "/Type0":
                continue
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
            program = next(descriptor[k].get_object().get_data()
                           for k in ("/FontFile3", "/FontFile2", "/FontFile") if k in descriptor)
            cmap = font["/ToUnicode"].get_object().get_data().decode("latin-1")
            to_unicode = {int(gid, 16): bytes.fromhex(text).decode("utf-16-be")
                          for gid, text in re.findall(r"<([0-9a-f]{4})> <([0-9a-f]+)>", cmap)}
            out[name] = (TTFont(io.BytesIO(program)), to_unicode)
    return out


def glyphs_without_outline(data: bytes) -> list[tuple[str, str]]:
    """(font, character) for every character printed with no outline of its own: a box, or nothing.
    WeasyPrint maps glyph 0 (.notdef, the box) to U+FFFF: printed, it shows in the page's text."""
    bad = [("text", "\uffff")] if any("\uffff" in page for page in pdf_pages(data)) else []
    for name, (font, to_unicode) in cid_fonts(data).items():
        order = font.getGlyphOrder()
        glyphs = font.getGlyphSet()
        for gid, text in to_unicode.items():
            if text.isspace() or (gid, text) == (0, "\uffff"):
                continue
            if gid == 0 or gid >= len(order):
                bad.append((name, text))
                continue
            pen = BoundsPen(glyphs)
            glyphs[order[gid]].draw(pen)
            if pen.bounds is None:
                bad.append((name, text))
    return bad


def approval_form(client, req, who: str = "dy_baozhang") -> bytes:
    login(client, who)
    r = client.get(f"/documents/requests/{req.id}/approval-form.pdf")
    assert r.status_code == 200
    return r.data


def test_an_approval_form_page_weighs_at_most_100_kb(client):
    req, _reference = returned_then_paid()
    data = approval_form(client, req)
    assert len(pdf_pages(data)) == 1
    assert len(data) <= PAGE_LIMIT, f"{len(data)} bytes"


def test_a_form_with_a_long_history_and_rare_characters_stays_under_100_kb(client):
    req = f.draft("60000.00", payee_name=RARE_PAYEE, purpose="村委会办公楼屋面防水维修及排水沟疏浚费用" * 3)
    acc = f.user("dy_baozhang")
    for reason in ("请补充验收单", "金额与合同不一致，请核对", "请补充“四议两公开”会议记录和签到表"):
        requests.submit(acc, req, client_key=uuid.uuid4().hex)
        requests.approve(f.user("dy_shuji"), req, "同意，按村两委会决议执行", client_key=uuid.uuid4().hex)
        requests.return_for_revision(f.user("dy_jianwei"), req, reason)
        db.session.commit()
    requests.submit(acc, req, client_key=uuid.uuid4().hex)
    db.session.commit()
    data = approval_form(client, req)
    assert len(pdf_pages(data)) == 1
    assert len(data) <= PAGE_LIMIT, f"{len(data)} bytes"


def test_the_disclosure_and_the_trail_report_weigh_at_most_100_kb_a_page(client):
    # a payee each: one payee would cross a cumulative band (finance.controls) and need a contract
    paid = [f.in_state(State.PAID, amount, purpose=purpose, payee_name=f"华龙区第{i}供销门市",
                       payee_account=f"62284800777700{i:02d}")
            for i, (amount, purpose) in enumerate((("1200.00", "村部办公用品"), ("12345.67", "村内道路修补"),
                                    ("56000.00", "村小学围墙修缮材料费")))]
    value_date = db.session.execute(
        select(Payment.value_date).where(Payment.request_id == paid[0].id)).scalar_one()
    login(client, "dy_jianwei")
    r = client.get(f"/documents/disclosure/{paid[0].village.id}/{value_date.year}/{value_date.month}.pdf")
    assert r.status_code == 200
    assert len(r.data) <= PAGE_LIMIT * len(pdf_pages(r.data)), f"{len(r.data)} bytes"

    for i, amount in enumerate(("2300.00", "3400.00", "4500.00", "15600.00"), start=10):
        f.in_state(State.PAID, amount, payee_name=f"华龙区第{i}供销门市", payee_account=f"62284800777700{i:02d}")
    today = today_local()
    login(client, "yc_lianqing")
    r = client.get(f"/documents/trail-report?village=HL-YC-01&start={today.replace(day=1)}&end={today}")
    assert r.status_code == 200 and r.mimetype == "application/pdf", r.status_code
    pages = pdf_pages(r.data)
    assert len(pages) >= 2  # enough events for a report of several pages
    assert len(r.data) <= PAGE_LIMIT * len(pages), f"{len(r.data)} bytes for {len(pages)} pages"


def test_each_cjk_face_is_embedded_once_and_only_with_the_glyphs_of_the_page(client, tmp_path):
    req = f.in_state(State.APPROVED, "1200.00", payee_name=RARE_PAYEE)
    data = approval_form(client, req, "yc_chuna")
    names = [name for name, _emb in embedded_fonts(data, tmp_path)]
    assert len(names) == len(set(names)), names
    cjk = [n for n in names if "Sanzi" in n or "CJK" in n]
    # the text face and the bold face, cut: no whole system font besides them
    assert sorted(n.split("+")[1] for n in cjk) == ["Sanzi-Sans-Bold", "Sanzi-Serif"], names
    for name, (font, to_unicode) in cid_fonts(data).items():
        if "Sanzi" in name:
            # a cut face holds the page's glyphs, not the 65,535 ids of a Noto CJK face
            assert font["maxp"].numGlyphs < 1000, (name, font["maxp"].numGlyphs)
            assert len(to_unicode) < font["maxp"].numGlyphs + 1


def test_every_character_prints_with_its_own_glyph(client, tmp_path):
    req = f.in_state(State.PAID, "60000.00", payee_name=RARE_PAYEE, purpose="购买“四议两公开”公示栏（不锈钢）")
    data = approval_form(client, req)
    page = pdf_pages(data)[0]
    for expected in (RARE_PAYEE, "购买“四议两公开”公示栏（不锈钢）", "人民币陆万元整", "支付审批单", "审计链位置"):
        assert expected in page, expected
    assert glyphs_without_outline(data) == []
    printed = {text for _font, to_unicode in cid_fonts(data).values() for text in to_unicode.values()}
    assert set("犇鑫堃喆") <= printed
    # bold labels are set in the bold face, the text in the regular one
    by_face = {name.split("+")[1]: set(m.values()) for name, (_font, m) in cid_fonts(data).items()}
    assert set("收款人开户银行") <= by_face["Sanzi-Sans-Bold"]
    assert set("中国农业银行濮阳华龙支行") <= by_face["Sanzi-Serif"]


def test_without_the_font_cut_a_document_still_prints_in_the_whole_system_font(client, monkeypatch, tmp_path):
    monkeypatch.setattr(fonts, "_libraries", lambda: None)
    req = f.in_state(State.APPROVED, "1200.00", payee_name=RARE_PAYEE)
    data = approval_form(client, req, "yc_chuna")
    names = [name for name, _emb in embedded_fonts(data, tmp_path)]
    assert any("Noto-Serif-CJK-SC" in n for n in names) and not any("Sanzi" in n for n in names), names
    assert RARE_PAYEE in pdf_pages(data)[0]
    assert glyphs_without_outline(data) == []


@pytest.mark.parametrize("text", ["", "ABC 123", "东岳村财务公开"])
def test_font_faces_are_cut_to_the_text_and_the_always_needed_characters(text):
    css = fonts.font_faces_css(text)
    assert css.count("@font-face") == len(fonts.FACES)
    for face in fonts.FACES:
        assert f'font-family: "{face.family}"; font-weight: {face.weight}' in css
    import base64

    programs = [TTFont(io.BytesIO(base64.b64decode(uri)))
                for uri in re.findall(r"data:font/otf;base64,([A-Za-z0-9+/=]+)", css)]
    for program in programs:
        covered = {chr(c) for c in program.getBestCmap()}
        assert set(text) <= covered and set("0123456789¥，。（）") <= covered
        assert program["maxp"].numGlyphs < 300

