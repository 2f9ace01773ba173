"""Reading a PDF's text back (CJK extraction inserts spaces, so whitespace is dropped)."""

from __future__ import annotations

import io
import re

from pypdf import PdfReader


def pdf_pages(data: bytes) -> list[str]:
    assert data.startswith(b"%PDF-")
    return [re.sub(r"\s+", "", page.extract_text() or "") for page in PdfReader(io.BytesIO(data)).pages]
