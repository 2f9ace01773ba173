"""EXCHANGE.md §1: `flask --app finance import org-units FILE`."""

from __future__ import annotations

from sqlalchemy import select

from finance.orgs.models import OrgUnit
from finance.roles import OrgKind
from tests.imports_helpers import batches, events, run, write

UNITS = """编码,名称,级别,上级编码,开户行,银行账号,账户名称
QF-01-01,前锋村,村,QF-01,中国农业银行濮阳华龙支行,6228 4800 1111 2222 333,前锋村股份经济合作社
QF,清丰县,县,,,,
QF-01,韩村镇,镇,QF,,,
QF-02,阳邵乡,乡,QF,,,
QF-02-01,阳邵村,村,QF-02,濮阳农村商业银行阳邵支行,6230590011112222,阳邵村股份经济合作社
"""


def unit(db, code):
    return db.execute(select(OrgUnit).where(OrgUnit.code == code)).scalar_one_or_none()


def test_units_import_parents_first_with_bank_accounts_and_level_names(app, db, tmp_path):
    r = run(app, "import", "org-units", str(write(tmp_path, "units.csv", UNITS)))
    assert r.exit_code == 0, r.output
    assert "新增 5 条" in r.output
    village = unit(db, "QF-01-01")
    assert village.kind == OrgKind.VILLAGE and village.parent.code == "QF-01"
    assert village.bank_account == "6228480011112222333" and village.path.startswith(unit(db, "QF").path)
    assert unit(db, "QF-02").level_name == "乡" and unit(db, "QF-02").head_title == "乡长"
    assert unit(db, "QF-01").head_title == "镇长"
    assert events(db, "org_create") >= 5


def test_a_second_import_adds_nothing_and_a_changed_account_updates(app, db, tmp_path):
    path = write(tmp_path, "units.csv", UNITS)
    assert run(app, "import", "org-units", str(path)).exit_code == 0
    before = events(db)
    r = run(app, "import", "org-units", str(path))
    assert r.exit_code == 0 and "没有新内容" in r.output, r.output
    assert events(db) == before and len(batches(db, "org-units")) == 1
    changed = write(tmp_path, "units2.csv", UNITS.replace("6230590011112222", "6230590011113333"))
    r = run(app, "import", "org-units", str(changed))
    assert r.exit_code == 0 and "更新 1 条" in r.output, r.output
    assert unit(db, "QF-02-01").bank_account == "6230590011113333"
    assert events(db, "org_update") >= 1


def test_units_join_an_existing_district(app, db, tmp_path):
    text = "编码,名称,级别,上级编码\nHL-NEW,新习镇,镇,HL\n"
    r = run(app, "import", "org-units", str(write(tmp_path, "t.csv", text)))
    assert r.exit_code == 0, r.output
    assert unit(db, "HL-NEW").parent.code == "HL"


def test_bad_units_import_nothing_and_each_problem_is_named(app, db, tmp_path):
    text = UNITS + ("QF-03-01,无上级村,村,QF-03,农行,6228480011112222,某社\n"
                    "QF-02-02,缺账号村,村,QF-02,农行,,某社\n"
                    "QF-04,错层级,村庄,QF,,,\n"
                    "QF-02-03,坏账号,村,QF-02,农行,62284800ABC,某社\n"
                    "QF-02-04,村下村,村,QF-02-01,农行,6228480011112222,某社\n")
    before = events(db)
    r = run(app, "import", "org-units", str(write(tmp_path, "bad.csv", text)))
    assert r.exit_code == 1, r.output
    assert "bad.csv 第 7 行“上级编码”列：上级单位 QF-03 既不在文件中，也不在系统中" in r.output
    assert "第 8 行“银行账号”列" in r.output
    assert "第 9 行“级别”列" in r.output
    assert "第 10 行“银行账号”列" in r.output
    assert "第 11 行“上级编码”列" in r.output
    assert unit(db, "QF") is None and events(db) == before


def test_an_import_cannot_move_a_unit_or_change_its_level(app, db, tmp_path):
    text = "编码,名称,级别,上级编码,开户行,银行账号,账户名称\nHL-YC-01,东岳村,村,HL-MK,农行,6228480012345678,社\n"
    r = run(app, "import", "org-units", str(write(tmp_path, "move.csv", text)))
    assert r.exit_code == 1 and "不能移动单位" in r.output
    r = run(app, "import", "org-units", str(write(tmp_path, "lvl.csv", "编码,名称,级别,上级编码\nHL-YC,岳村镇,区,\n")))
    assert r.exit_code == 1 and "不能改变级别" in r.output
