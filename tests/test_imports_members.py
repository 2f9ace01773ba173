"""EXCHANGE.md §5b: `flask --app finance import members FILE`, and the query the flags call."""

from __future__ import annotations

from datetime import date

from finance.controls.normalise import id_check_char
from finance.orgs.members import Roll, member_standing
from tests import factories as f
from tests.imports_helpers import batches, events, run, write


def id_number(n: int) -> str:
    first = f"41090219{60 + n % 40:02d}0101{n % 1000:03d}"
    return first + id_check_char(first)


ALIVE, MOVED, DEAD = id_number(1), id_number(2), id_number(3)
ROLL = f"""单位编码,姓名,身份证号,状态,日期
HL-YC-01,王大山,{ALIVE},在册,
HL-YC-01,李小河,{MOVED},迁出,2025-06-30
HL-YC-01,赵老汉,{DEAD},死亡,2025-01-15
"""


def test_the_roll_imports_and_answers_the_flags_question(app, db, tmp_path):
    before = events(db, chain="village:HL-YC-01")
    r = run(app, "import", "members", str(write(tmp_path, "roll.csv", ROLL)))
    assert r.exit_code == 0, r.output
    assert "新增 3 条" in r.output
    assert events(db, chain="village:HL-YC-01") == before + 3  # one event per member, on the village's chain
    village = f.unit("HL-YC-01").id
    on = date(2025, 3, 1)
    assert member_standing(village, "王大山", ALIVE, on).status == "on_roll"
    assert member_standing(village, "王大山", None, on).status == "on_roll"  # by name when no ID
    assert member_standing(village, "赵老汉", DEAD, on).status == "deceased"
    assert member_standing(village, "赵老汉", DEAD, on).since == date(2025, 1, 15)
    assert member_standing(village, "赵老汉", DEAD, date(2025, 1, 1)).status == "on_roll"  # paid before he died
    assert member_standing(village, "李小河", MOVED, on).status == "on_roll"  # moved out later
    assert member_standing(village, "李小河", MOVED, date(2025, 7, 1)).status == "moved_out"
    assert member_standing(village, "外村人", id_number(9), on).status == "not_on_roll"
    assert member_standing(f.unit("HL-YC-02").id, "王大山", ALIVE, on).status == "no_roll"
    roll = Roll.of([village, f.unit("HL-YC-02").id])
    assert roll.standing(village, "赵老汉", None, on).status == "deceased"


def test_a_second_import_adds_nothing_and_a_recorded_death_updates(app, db, tmp_path):
    path = write(tmp_path, "roll.csv", ROLL)
    assert run(app, "import", "members", str(path)).exit_code == 0
    before = events(db)
    r = run(app, "import", "members", str(path))
    assert r.exit_code == 0 and "没有新内容" in r.output, r.output
    assert events(db) == before and len(batches(db, "members")) == 1
    died = write(tmp_path, "roll2.csv", ROLL.replace(f"王大山,{ALIVE},在册,", f"王大山,{ALIVE},死亡,2025-09-01"))
    r = run(app, "import", "members", str(died))
    assert r.exit_code == 0 and "更新 1 条" in r.output, r.output
    assert member_standing(f.unit("HL-YC-01").id, "王大山", ALIVE, date(2025, 10, 1)).status == "deceased"


def test_bad_roll_lines_import_nothing_and_are_named(app, db, tmp_path):
    bad_id = ALIVE[:-1] + ("0" if ALIVE[-1] != "0" else "1")
    text = ROLL + (f"NOWHERE,某甲,{id_number(4)},在册,\n"
                   f"HL-YC-01,某乙,{bad_id},在册,\n"
                   f"HL-YC-01,某丙,{id_number(5)},失踪,\n"
                   f"HL-YC-01,某丁,{id_number(6)},死亡,\n"
                   f"HL-YC-01,某戊,{ALIVE},在册,\n")
    before = events(db)
    r = run(app, "import", "members", str(write(tmp_path, "bad.csv", text)))
    assert r.exit_code == 1, r.output
    for line, column in ((5, "单位编码"), (6, "身份证号"), (7, "状态"), (8, "日期"), (9, "身份证号")):
        assert f"bad.csv 第 {line} 行“{column}”列" in r.output, (line, column, r.output)
    assert events(db) == before
