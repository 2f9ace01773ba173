"""The two file pickers of the request form and the detail page (issue 16, item 4) through the test client:
one opens the camera, the other the phone's files, both post under the name "file", and the server
attaches every file posted and ignores the empty part of the picker not used."""

from __future__ import annotations

import io
import re

from finance.extensions import db
from finance.payment_requests.models import PaymentRequest
from finance.workflow import State
from tests import factories as f
from tests.test_request_pages import form_data, reload


def file_inputs(html: str) -> list[str]:
    return re.findall(r"<input[^>]*type=\"file\"[^>]*>", html)


def test_the_form_offers_a_camera_picker_and_a_file_picker(client):
    client.login("dy_baozhang")
    inputs = file_inputs(client.get("/requests/new").get_data(as_text=True))
    assert len(inputs) == 2 and all('name="file"' in i for i in inputs)
    camera, files = inputs
    assert 'capture="environment"' in camera and 'accept="image/*"' in camera
    assert "capture" not in files and 'accept="image/*,application/pdf"' in files


def test_a_photo_and_a_pdf_posted_together_are_both_attached(client):
    client.login("dy_baozhang")
    data = form_data(kind="other")
    data["file"] = [(io.BytesIO(f.jpeg_bytes()), "IMG_1.jpg"), (io.BytesIO(f.pdf_bytes()), "验收单.pdf")]
    r = client.post("/requests/new", data=data, content_type="multipart/form-data")
    assert r.status_code == 303
    request_id = int(r.headers["Location"].rsplit("/", 1)[1])
    client.get(r.headers["Location"])
    req = db.session.get(PaymentRequest, request_id)
    assert sorted((a.kind.value, a.content_type, a.filename) for a in req.attachments) == [
        ("other", "application/pdf", "验收单.pdf"), ("other", "image/jpeg", "IMG_1.jpg")]


def test_the_empty_part_of_the_picker_not_used_is_ignored(client):
    client.login("dy_baozhang")
    data = form_data(kind="contract")
    data["file"] = [(io.BytesIO(b""), ""), (io.BytesIO(f.pdf_bytes()), "合同.pdf")]  # as a browser sends it
    r = client.post("/requests/new", data=data, content_type="multipart/form-data")
    assert r.status_code == 303
    req = db.session.get(PaymentRequest, int(r.headers["Location"].rsplit("/", 1)[1]))
    assert [(a.kind.value, a.filename) for a in req.attachments] == [("contract", "合同.pdf")]


def test_the_detail_page_upload_takes_both_pickers(client):
    req = f.draft("800.00", with_attachments=False)
    client.login("dy_baozhang")
    inputs = file_inputs(client.get(f"/requests/{req.id}").get_data(as_text=True))
    assert len(inputs) == 2 and sum("capture" in i for i in inputs) == 1
    r = client.post(f"/requests/{req.id}/attachments", content_type="multipart/form-data", data={
        "kind": "invoice", "file": [(io.BytesIO(b""), ""), (io.BytesIO(f.jpeg_bytes()), "fapiao.jpg")]})
    assert r.status_code == 303
    assert "附件已上传。" in client.get(r.headers["Location"]).get_data(as_text=True)
    assert [(a.kind.value, a.filename) for a in reload(req).attachments] == [("invoice", "fapiao.jpg")]
    assert reload(req).state == State.DRAFT


def test_the_pickers_carry_the_upload_limit_for_the_check_on_the_phone(app, client, monkeypatch):
    """Item 5: static/js/file-check.js reads the server's limit from the pickers, and its messages (with
    how to make a file smaller) from the page, in the page's language."""
    monkeypatch.setitem(app.config, "MAX_UPLOAD_BYTES", 3 * 1024 * 1024)
    client.login("dy_baozhang")
    html = client.get("/requests/new").get_data(as_text=True)
    assert all('data-max-bytes="3145728"' in i for i in file_inputs(html))
    script = re.search(r"<script src=\"/static/js/file-check\.js[^>]*>", html, re.S).group(0)
    assert "扫描软件以较低分辨率" in script and "照片尺寸（分辨率）调低" in script
    english = client.get("/requests/new?lang=en").get_data(as_text=True)
    script = re.search(r"<script src=\"/static/js/file-check\.js[^>]*>", english, re.S).group(0)
    assert "&#34;{name}&#34; cannot be uploaded" in script  # quotes escaped inside the attribute
