"""`flask --app finance audit verify` and `audit checkpoint`, through Flask's CLI runner."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, text

import audit
from audit.checkpoints import public_key_pem
from finance.audit_keys import public_pem
from finance.workflow import State
from tests import factories as f
from tests.test_audit_mutations import without_triggers

CHAIN = "village:HL-YC-01"


def run(app, *args):
    return app.test_cli_runner().invoke(args=["audit", *args], catch_exceptions=False)


def test_verify_exits_0_on_a_good_database(app, db):
    f.in_state(State.PAID, "1200.00")
    result = run(app, "verify")
    assert result.exit_code == 0, result.output
    assert f"{CHAIN}:" in result.output and "all chains verified" in result.output
    assert "FAIL" not in result.output


def test_verify_exits_1_naming_chain_and_seq_after_one_row_changed(app, db):
    req = f.in_state(State.PAID, "1200.00")
    seq = (
        db.execute(
            select(audit.Event.seq).where(
                audit.Event.chain_id == CHAIN,
                audit.Event.action == "approve",
                audit.Event.subject_id == str(req.id),
            )
        )
        .scalars()
        .first()
    )
    with without_triggers(db):
        db.execute(
            text("UPDATE audit_event SET actor_name = '假名' WHERE chain_id = :c AND seq = :s"),
            {"c": CHAIN, "s": seq},
        )
        result = run(app, "verify")
        assert result.exit_code == 1
        assert f"FAIL {CHAIN} seq {seq}: stored columns differ from the hashed bytes" in result.output
        assert result.output.count("FAIL ") == 1
        only = run(app, "verify", "--chain", "system")
        assert only.exit_code == 0 and CHAIN not in only.output


def test_verify_exits_1_when_a_request_is_changed_in_sql(app, db):
    req = f.in_state(State.APPROVED, "1200.00")
    db.execute(
        text("UPDATE payment_request SET payee_account = '6222000011112222' WHERE id = :id"), {"id": req.id}
    )
    result = run(app, "verify", "--chain", CHAIN)
    assert result.exit_code == 1
    assert f"FAIL {CHAIN} seq" in result.output and "payee_account differs" in result.output


def test_checkpoint_command_and_offline_verify_with_kept_files(app, db, tmp_path):
    f.in_state(State.PENDING, "1200.00")
    kept = tmp_path / "kept"
    result = run(app, "checkpoint", "--out", str(kept))
    assert result.exit_code == 0 and CHAIN in result.output
    assert any(kept.glob("village_HL-YC-01-*.json"))
    again = run(app, "checkpoint")
    assert "no chain moved" in again.output
    key_file = tmp_path / "public.pem"
    key_file.write_text(public_pem()[1])
    good = run(app, "verify", "--checkpoints", str(kept), "--public-key", str(key_file))
    assert good.exit_code == 0, good.output
    stranger = tmp_path / "other.pem"
    stranger.write_text(public_key_pem(Ed25519PrivateKey.generate().public_key()))
    bad = run(app, "verify", "--checkpoints", str(kept), "--public-key", str(stranger))
    assert bad.exit_code == 1 and "not trusted" in bad.output


def test_verify_of_an_unknown_chain_is_an_error(app, db):
    result = app.test_cli_runner().invoke(args=["audit", "verify", "--chain", "village:NOPE"])
    assert result.exit_code == 1 and "no chain village:NOPE" in result.output


def test_checkpoints_signed_before_a_key_rotation_still_verify(app, db, tmp_path):
    from finance.audit_keys import checkpoint

    f.in_state(State.PENDING)
    old_pem = public_pem()[1]
    assert checkpoint(CHAIN) is not None
    saved = dict(app.config)
    try:
        app.config["AUDIT_KEY_FILE"] = str(tmp_path / "new_key.pem")  # rotated: a new key from now on
        rotated = run(app, "verify", "--chain", CHAIN)
        assert rotated.exit_code == 1 and "not trusted" in rotated.output
        retired = tmp_path / "retired"
        retired.mkdir()
        (retired / "2026-old.pem").write_text(old_pem)
        app.config["AUDIT_RETIRED_KEYS_DIR"] = str(retired)
        assert run(app, "verify", "--chain", CHAIN).exit_code == 0
    finally:
        app.config.clear()
        app.config.update(saved)
