"""Several files at once, and the 附件类型 kept after a refused upload (issue 16 item 6), through the test
client: the file picker takes several files; a refused upload goes back with the kind chosen, on the
detail page and on the form."""

from __future__ import annotations

import io
import re

from finance.extensions import db
from finance.payment_requests.models import PaymentRequest
from tests import factories as f

BROKEN_PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\n"  # no %%EOF: refused by the server



def test_the_file_picker_takes_several_files(client):
    client.login("dy_baozhang")
    html = client.get("/requests/new").get_data(as_text=True)
    files = re.search(r'<input[^>]*id="file-files"[^>]*>', html).group(0)
    camera = re.search(r'<input[^>]*id="file-camera"[^>]*>', html).group(0)
    assert " multiple" in files and "multiple" not in camera


def test_several_files_of_one_kind_uploaded_at_once_from_the_detail_page(client):
    req = f.draft("800.00", with_attachments=False)
    client.login("dy_baozhang")
    r = client.post(f"/requests/{req.id}/attachments", content_type="multipart/form-data", data={
        "kind": "contract", "file": [(io.BytesIO(f.pdf_bytes()), "合同1.pdf"),
                                     (io.BytesIO(f.pdf_bytes() + b"%2"), "合同2.pdf"),
                                     (io.BytesIO(f.jpeg_bytes()), "合同3.jpg")]})
    assert r.status_code == 303
    db.session.expire_all()
    req = db.session.get(PaymentRequest, req.id)
    assert sorted((a.kind.value, a.filename) for a in req.attachments) == [
        ("contract", "合同1.pdf"), ("contract", "合同2.pdf"), ("contract", "合同3.jpg")]


def test_a_refused_upload_keeps_the_kind_on_the_detail_page(client):
    req = f.draft("800.00", with_attachments=False)
    client.login("dy_baozhang")
    r = client.post(f"/requests/{req.id}/attachments", content_type="multipart/form-data", data={
        "kind": "acceptance", "file": [(io.BytesIO(f.jpeg_bytes()), "ok.jpg"), (io.BytesIO(BROKEN_PDF), "坏.pdf")]})
    assert r.status_code == 303 and r.headers["Location"] == f"/requests/{req.id}?kind=acceptance#attachments"
    html = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "PDF 文件不完整" in html and '<option value="acceptance" selected>' in html
    assert not db.session.get(PaymentRequest, req.id).attachments  # one refused file refuses them all
    # nothing chosen: back with the kind as well
    r = client.post(f"/requests/{req.id}/attachments", data={"kind": "minutes"})
    assert r.headers["Location"] == f"/requests/{req.id}?kind=minutes#attachments"


def test_a_refused_upload_keeps_the_kind_on_the_form(client):
    req = f.draft("800.00", with_attachments=False)
    client.login("dy_baozhang")
    page = client.get(f"/requests/{req.id}/edit?kind=contract").get_data(as_text=True)
    assert '<option selected value="contract">' in page or '<option value="contract" selected>' in page
    r = client.post(f"/requests/{req.id}/edit", content_type="multipart/form-data", data={
        "kind": "contract", "file": (io.BytesIO(BROKEN_PDF), "合同.pdf"), "payee_name": req.payee_name,
        "client_key": "ab" * 16, "action": "save"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "PDF 文件不完整" in html
    assert '<option selected value="contract">' in html or '<option value="contract" selected>' in html
