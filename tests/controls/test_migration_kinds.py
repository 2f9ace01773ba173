"""Migration 0008 maps the old attachment kind 发票或收款收据 ("invoice") to 其他凭证 and back."""

from __future__ import annotations

from sqlalchemy import text

from finance.db import make_engine
from finance.migrate import downgrade, upgrade


def test_old_invoice_attachments_become_other_vouchers_and_back(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url, "0002")
    engine = make_engine(url)
    now = "2026-01-01 00:00:00"
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO org_unit (id, code, name, kind, path, created_at) "
                              "VALUES (1, 'V', '村', 'village', '/1/', :t)"), {"t": now})
            conn.execute(text("INSERT INTO user_account (id, username, display_name, password_hash, active, "
                              "session_version, created_at) VALUES (1, 'u', '甲', 'x', 1, 1, :t)"), {"t": now})
            conn.execute(text("INSERT INTO payment_request (id, village_id, requester_id, state, payee_name, "
                              "payee_bank, payee_account, purpose, fund_source, budget_line, step, round, "
                              "created_at, updated_at, version) VALUES (1, 1, 1, 'draft', '', '', '', '', '', '', "
                              "0, 0, :t, :t, 1)"), {"t": now})
            for n, kind in enumerate(["invoice", "contract", "invoice"], start=1):
                conn.execute(text("INSERT INTO attachment (id, request_id, kind, sha256, filename, content_type, "
                                  "size, uploaded_by_id, created_at) VALUES (:id, 1, :kind, :sha, 'f', "
                                  "'image/jpeg', 1, 1, :t)"), {"id": n, "kind": kind, "sha": "0" * 64, "t": now})
        upgrade(url, "0008")
        with engine.connect() as conn:
            kinds = conn.execute(text("SELECT kind FROM attachment ORDER BY id")).scalars().all()
        assert kinds == ["other_voucher", "contract", "other_voucher"]
        downgrade(url, "0002")
        with engine.connect() as conn:
            kinds = conn.execute(text("SELECT kind FROM attachment ORDER BY id")).scalars().all()
        assert kinds == ["invoice", "contract", "invoice"]
    finally:
        engine.dispose()
