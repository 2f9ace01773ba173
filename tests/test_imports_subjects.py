"""EXCHANGE.md §0: `flask --app finance import subjects FILE`."""

from __future__ import annotations

import json

from sqlalchemy import select

from audit.models import Event
from finance.orgs.models import AccountSubject, SubjectCategory
from tests.imports_helpers import batches, events, run, write

CHART = """科目编码,科目名称,类别,上级编码
101,现金,资产,
102,银行存款,资产,
541001,办公费,损益,541
541,管理费用,损益,
202,应付款,负债,
"""


def subject(db, code):
    return db.execute(select(AccountSubject).where(AccountSubject.code == code)).scalar_one_or_none()


def test_a_chart_imports_with_parents_first_and_one_event_each(app, db, tmp_path):
    before = events(db)
    r = run(app, "import", "subjects", str(write(tmp_path, "科目表.csv", CHART)))
    assert r.exit_code == 0, r.output
    assert "新增 5 条" in r.output
    detail = subject(db, "541001")
    assert detail.parent.code == "541" and detail.category == SubjectCategory.PROFIT_LOSS and detail.name == "办公费"
    assert events(db, "subject_create") >= 5
    assert events(db) == before + 6  # five subjects and the import itself
    (batch,) = batches(db, "subjects")
    assert (batch.lines, batch.added) == (5, 5)
    event = db.execute(select(Event).where(Event.action == "import").order_by(Event.id.desc()).limit(1)).scalar_one()
    after = json.loads(event.after)
    assert after["sha256"] == batch.sha256 and after["lines"] == 5 and after["kind"] == "subjects"


def test_a_second_import_of_the_same_chart_adds_nothing_and_says_so(app, db, tmp_path):
    path = write(tmp_path, "chart.csv", CHART)
    assert run(app, "import", "subjects", str(path)).exit_code == 0
    before = events(db)
    r = run(app, "import", "subjects", str(path))
    assert r.exit_code == 0, r.output
    assert "没有新内容" in r.output and "已于" in r.output
    assert events(db) == before and len(batches(db, "subjects")) == 1


def test_a_changed_name_updates_the_subject(app, db, tmp_path):
    assert run(app, "import", "subjects", str(write(tmp_path, "a.csv", CHART))).exit_code == 0
    r = run(app, "import", "subjects", str(write(tmp_path, "b.csv", CHART.replace("办公费", "办公用品费"))))
    assert r.exit_code == 0 and "更新 1 条" in r.output, r.output
    assert subject(db, "541001").name == "办公用品费"


def test_a_gb18030_file_with_extra_columns_and_moved_headers(app, db, tmp_path):
    text = "村集体经济组织会计科目表\n备注,类别,科目名称,科目编码\n说明,资产,现金,101\n"
    r = run(app, "import", "subjects", str(write(tmp_path, "gbk.csv", text, "gb18030")))
    assert r.exit_code == 0, r.output
    assert subject(db, "101").name == "现金"


def test_bad_lines_import_nothing_and_name_file_line_and_column(app, db, tmp_path):
    text = CHART + "54X,坏编码,损益,\n999,未知类别,费用,\n551002,孤儿,损益,551\n"
    before = events(db)
    r = run(app, "import", "subjects", str(write(tmp_path, "bad.csv", text)))
    assert r.exit_code == 1
    assert "bad.csv 第 7 行“科目编码”列" in r.output
    assert "bad.csv 第 8 行“类别”列" in r.output
    assert "bad.csv 第 9 行“上级编码”列" in r.output and "551" in r.output
    assert "没有导入任何内容" in r.output
    assert subject(db, "101") is None and events(db) == before


def test_a_duplicate_code_and_a_detail_outside_its_parent(app, db, tmp_path):
    text = "科目编码,科目名称,类别,上级编码\n101,现金,资产,\n101,现金2,资产,\n102001,错位,资产,101\n"
    r = run(app, "import", "subjects", str(write(tmp_path, "dup.csv", text)))
    assert r.exit_code == 1
    assert "第 3 行“科目编码”列：编码 101 与第 2 行重复" in r.output
    assert "第 4 行“上级编码”列" in r.output


def test_a_missing_column_is_named(app, db, tmp_path):
    r = run(app, "import", "subjects", str(write(tmp_path, "m.csv", "科目编码,科目名称\n101,现金\n")))
    assert r.exit_code == 1 and "“类别”列" in r.output and "缺少这一列" in r.output
