"""Cache-busted static URLs: `?v=<content hash>`, so a file can be cached for a year."""

from __future__ import annotations

import hashlib
from pathlib import Path

from flask import Flask, url_for

_cache: dict[str, str] = {}


def versioned_url(app: Flask, filename: str) -> str:
    static = Path(app.static_folder or "")
    path = static / filename
    key = f"{path}"
    if key not in _cache or app.debug:
        try:
            _cache[key] = hashlib.sha256(path.read_bytes()).hexdigest()[:10]
        except OSError:
            _cache[key] = "0"
    return url_for("static", filename=filename, v=_cache[key])
