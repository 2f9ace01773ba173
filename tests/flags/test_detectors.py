"""Each detector: a planted case it must find, and the hard negatives it must not flag (issue 12)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from finance.attachment_kinds import AttachmentKind
from finance.controls import services as controls
from finance.controls.models import ListAction
from finance.extensions import db
from finance.flags.models import Colour, FlagType
from finance.flags.scan import scan
from finance.timefmt import CST
from tests import factories as f
from tests.controls import helpers as ch
from tests.flags.helpers import NOW, approve_all, flags_of, move, numbers, plant

pytestmark = pytest.mark.usefixtures("db", "no_preventive")


# --- split payments -------------------------------------------------------------------------------------

def test_split_payment_found_by_account_within_the_window() -> None:
    parts = [plant(a, days_ago=d) for a, d in (("9800.00", 12), ("9700.00", 8), ("9800.00", 3))]
    scan()
    found = flags_of(FlagType.SPLIT_PAYMENT)
    assert len(found) == 1 and found[0].severity == Colour.RED
    assert numbers(found[0]) == {r.number for r in parts}
    assert "3 笔共 29,300.00 元" in found[0].summary and "10,000.00 元审批线" in found[0].summary


def test_split_payment_found_by_name_across_accounts_and_by_purpose_across_payees() -> None:
    by_name = [plant("6000.00", account=acct, days_ago=d) for acct, d in (("6228480011112222333", 5),
                                                                            ("6217000099998888777", 4))]
    by_purpose = [plant("8000.00", payee=p, account=a, purpose="村西头排水沟清淤及修复", days_ago=20,
                        village="HL-YC-02", accountant="xy_baozhang")
                  for p, a in (("张建设", "6222021111111111111"), ("李建设", "6222022222222222222"))]
    scan()
    found = {frozenset(numbers(x)) for x in flags_of(FlagType.SPLIT_PAYMENT)}
    assert frozenset(r.number for r in by_name) in found
    assert frozenset(r.number for r in by_purpose) in found


def test_monthly_cleaner_bills_salaries_and_one_contract_are_not_splitting() -> None:
    for month in range(6):  # the same cleaner paid monthly
        plant("1500.00", payee="赵保洁", account="6222020000000000001", purpose="村内保洁费", days_ago=30 * month + 1)
    for month in range(3):  # a bill paid monthly to one business
        plant("6000.00", payee="濮阳供电公司华龙分公司", account="6222020000000000002", purpose="村部电费",
              days_ago=30 * month + 2)
    for n, name in enumerate(("王一", "王二", "王三", "王四", "王五")):  # cadre salaries, one day
        plant("3000.00", payee=name, account=f"62220200000000001{n}", purpose="11月村干部工资",
              subject_id=f.subject("2301").id, kind=AttachmentKind.LABOUR_SLIP, days_ago=4)
    scan()
    assert flags_of(FlagType.SPLIT_PAYMENT) == []


def test_split_payment_window_is_sliding_not_calendar() -> None:
    far = [plant("9000.00", days_ago=d) for d in (70, 35)]  # 35 days apart: never in one window
    scan()
    assert far and flags_of(FlagType.SPLIT_PAYMENT) == []


# --- just under a band ----------------------------------------------------------------------------------

def test_just_under_band_is_yellow_and_a_round_amount_below_is_not() -> None:
    near = plant("9880.00")
    plant("9000.00", account="6222020000000000009")
    scan()
    found = flags_of(FlagType.JUST_UNDER_BAND)
    assert [numbers(x) for x in found] == [{near.number}] and found[0].severity == Colour.YELLOW


# --- duplicate invoices --------------------------------------------------------------------------------

NUMBER = "25412000000012345678"


def test_duplicate_invoice_number_across_villages_and_months() -> None:
    first = plant("300.00", payee="中石化濮阳岳村加油站", days_ago=60, invoice={"number": NUMBER})
    again = plant("300.00", payee="中石化濮阳岳村加油站", village="HL-YC-02", accountant="xy_baozhang",
                  invoice={"number": NUMBER, "image": ch.jpeg(ch.invoice_image(NUMBER, amount="300.00"), 70)})
    scan()
    found = [x for x in flags_of(FlagType.DUPLICATE_INVOICE) if x.key.startswith("duplicate_invoice:number")]
    assert len(found) == 1 and numbers(found[0]) == {first.number, again.number}


def test_duplicate_invoice_by_exact_file_and_by_photo() -> None:
    photo = ch.invoice_image("25412000000099990001", amount="450.00")
    one = plant("450.00", payee="濮阳市华龙区文具店", kind=AttachmentKind.INVOICE, image=ch.jpeg(photo))
    two = plant("450.00", payee="濮阳市华龙区文具店", kind=AttachmentKind.INVOICE, image=ch.jpeg(photo), days_ago=40,
                village="HL-MK-01", accountant="mk_baozhang")
    copy = plant("450.00", payee="濮阳市华龙区文具店", kind=AttachmentKind.OTHER_VOUCHER,
                 image=ch.jpeg(photo.resize((1000, 667)), 55), days_ago=10)
    scan()
    found = flags_of(FlagType.DUPLICATE_INVOICE)
    by_file = [x for x in found if x.key.startswith("duplicate_invoice:file")]
    assert by_file and numbers(by_file[0]) == {one.number, two.number}
    by_photo = [x for x in found if x.key.startswith("duplicate_invoice:photo")]
    assert any(copy.number in numbers(x) for x in by_photo)


def test_two_invoices_on_one_template_are_not_duplicates() -> None:
    plant("300.00", payee="中石化濮阳岳村加油站", invoice={"number": "25412000000011110001"}, days_ago=3)
    plant("300.00", payee="中石化濮阳岳村加油站", invoice={"number": "25412000000011110002"}, days_ago=2)
    scan()
    assert flags_of(FlagType.DUPLICATE_INVOICE) == []


# --- one account, several names ------------------------------------------------------------------------

def test_shared_account_under_two_names() -> None:
    a = plant("800.00", payee="李四", account="6222 0211 3344 5566 778", purpose="误工费", days_ago=9)
    b = plant("900.00", payee="王五", account="6222021133445566778", purpose="搬运费", days_ago=2,
              village="HL-YC-02", accountant="xy_baozhang")
    scan()
    found = flags_of(FlagType.SHARED_ACCOUNT)
    assert len(found) == 1 and numbers(found[0]) == {a.number, b.number} and found[0].severity == Colour.RED


def test_one_supplier_serving_many_villages_under_its_name_variants_is_not_shared() -> None:
    villages = (("HL-YC-01", "dy_baozhang"), ("HL-YC-02", "xy_baozhang"), ("HL-MK-01", "mk_baozhang"),
                ("HL-MK-02", "ws_baozhang"))
    names = ("濮阳市华龙区宏达建材商店", "宏达建材店", "宏达建材商店（个体工商户）", "濮阳市华龙区宏达建材商店")
    for (village, accountant), name in zip(villages, names, strict=True):
        plant("2000.00", payee=name, account="6228480012345670000", village=village, accountant=accountant)
    scan()
    assert flags_of(FlagType.SHARED_ACCOUNT) == []


# --- related payees, self payees -----------------------------------------------------------------------

def _register(official: str, name: str, relation: str, accounts: str = "", id_number: str = "") -> None:
    controls.add_related_person(f.user("hl_admin"), f.user(official),
                                controls.PersonInput(name=name, relation=relation, accounts=accounts,
                                                     id_number=id_number))
    db.session.flush()


def test_related_payee_by_register_account_never_by_surname() -> None:
    _register("dy_shuji", "李美华", "spouse", accounts="6217000055556666777")
    spouse = plant("3000.00", payee="李美华", account="6217 0000 5555 6666 777", purpose="村部保洁用品",
                   kind=AttachmentKind.LABOUR_SLIP)
    plant("3000.00", payee="王建军", account="6217000055556666999", purpose="搬运费",  # the 书记's surname
          kind=AttachmentKind.LABOUR_SLIP)
    plant("3000.00", payee="李美华", account="6217000055556666777", purpose="11月工资",
          subject_id=f.subject("2301").id, kind=AttachmentKind.LABOUR_SLIP)
    scan()
    found = flags_of(FlagType.RELATED_PAYEE)
    assert [numbers(x) for x in found] == [{spouse.number}]
    assert "王建国" in found[0].summary and "配偶" in found[0].summary


def test_register_line_added_later_finds_an_old_payment() -> None:
    old = plant("2500.00", payee="张小明", account="6217000077778888999", purpose="搬运费", days_ago=40,
                kind=AttachmentKind.LABOUR_SLIP)
    scan()
    assert flags_of(FlagType.RELATED_PAYEE) == []
    _register("dy_jianwei", "张小明", "child", accounts="6217000077778888999")
    result = scan()
    assert [numbers(x) for x in flags_of(FlagType.RELATED_PAYEE)] == [{old.number}]
    assert result.looked_at == 1


def test_self_payee_approver_and_requester() -> None:
    _register("dy_shuji", "王建国", "self", accounts="6217000012340000001")
    paid_to_approver = plant("1200.00", payee="王建国", account="6217000012340000001", purpose="购买办公桌",
                             kind=AttachmentKind.LABOUR_SLIP, days_ago=1)
    approve_all(paid_to_approver, NOW - timedelta(days=1))
    paid_to_requester = plant("600.00", payee="李秀英", account="6217000012340000002", purpose="劳务费",
                              kind=AttachmentKind.LABOUR_SLIP)
    advance = plant("300.00", payee="李秀英", account="6217000012340000002", purpose="代垫购买墨盒",
                    invoice={"number": "25412000000055550001", "seller": "濮阳市华龙区文具店"})
    scan()
    found = {frozenset(numbers(x)) for x in flags_of(FlagType.SELF_PAYEE)}
    assert frozenset({paid_to_approver.number}) in found and frozenset({paid_to_requester.number}) in found
    assert frozenset({advance.number}) not in found


# --- vouchers ------------------------------------------------------------------------------------------

def test_receipt_as_invoice_for_a_business_not_for_a_person_or_a_bank() -> None:
    shop = plant("700.00", payee="濮阳市华龙区兴农农资经营部", kind=AttachmentKind.FISCAL_RECEIPT)
    plant("700.00", payee="张三", account="6222020000000000555", kind=AttachmentKind.LABOUR_SLIP)
    plant("700.00", payee="中国农业银行濮阳华龙支行", account="6222020000000000556", purpose="贷款利息",
          kind=AttachmentKind.OTHER_VOUCHER)
    plant("700.00", payee="濮阳市华龙区兴农农资经营部", invoice={"number": "25412000000066660001"})
    scan()
    assert [numbers(x) for x in flags_of(FlagType.RECEIPT_AS_INVOICE)] == [{shop.number}]


def test_seller_payee_mismatch_for_a_business_not_for_an_advance() -> None:
    other = plant("500.00", payee="濮阳市华龙区兴农农资经营部",
                  invoice={"number": "25412000000077770001", "seller": "濮阳市华龙区宏达建材商店"})
    plant("500.00", payee="李秀英", account="6222020000000000777",
          invoice={"number": "25412000000077770002", "seller": "濮阳市华龙区宏达建材商店"})
    plant("500.00", payee="濮阳市华龙区兴农农资经营部",
          invoice={"number": "25412000000077770003", "seller": "兴农农资经营部"})
    scan()
    assert [numbers(x) for x in flags_of(FlagType.SELLER_PAYEE_MISMATCH)] == [{other.number}]


# --- 负面清单 -------------------------------------------------------------------------------------------

def test_negative_list_default_words_and_township_items() -> None:
    controls.add_negative_item(f.user("hl_admin"), f.unit("HL-YC"),
                               controls.NegativeItemInput(item="土特产", keywords="土特产 特产",
                                                          action=ListAction.WARN))
    db.session.flush()
    smoke = plant("800.00", purpose="春节购买烟酒慰问")
    local = plant("800.00", purpose="购买土特产", account="6222020000000000888")
    plant("800.00", purpose="购买办公用品", account="6222020000000000889")
    plant("800.00", purpose="乡村旅游步道建设材料", account="6222020000000000890")
    scan()
    found = {frozenset(numbers(x)): x.severity for x in flags_of(FlagType.NEGATIVE_LIST)}
    assert found == {frozenset({smoke.number}): Colour.RED, frozenset({local.number}): Colour.YELLOW}


# --- approvals: fast, at night -------------------------------------------------------------------------

def test_fast_approval_is_yellow() -> None:
    quick = plant("1200.00", days_ago=2)
    approve_all(quick, quick.submitted_at, step_seconds=10)
    normal = plant("1200.00", days_ago=2, account="6222020000000000991")
    approve_all(normal, normal.submitted_at, step_seconds=1800)
    scan()
    found = flags_of(FlagType.FAST_APPROVAL)
    assert [numbers(x) for x in found] == [{quick.number}] and found[0].severity == Colour.YELLOW


def _night(days_ago: int, hour: int) -> datetime:
    day = (NOW - timedelta(days=days_ago)).astimezone(CST).date()
    return datetime(day.year, day.month, day.day, hour, 30, tzinfo=CST).astimezone(UTC)


def test_night_approval_flagged_but_not_on_a_flood_night() -> None:
    late = plant("1200.00", days_ago=20)
    move(late, _night(20, 21) - timedelta(hours=3))
    approve_all(late, _night(20, 21), step_seconds=600)  # 21:40, 21:50, 22:00 …
    flood = []
    for n in range(3):
        r = plant("3000.00", purpose="购买编织袋", account=f"62220200000000012{n}", days_ago=10)
        approve_all(r, _night(10, 22) + timedelta(minutes=5 * n), step_seconds=60)
        flood.append(r)
    words = plant("2000.00", purpose="防汛抢险购买沙袋", account="6222020000000001300", days_ago=5)
    approve_all(words, _night(5, 23))
    scan()
    assert [numbers(x) for x in flags_of(FlagType.NIGHT_APPROVAL)] == [{late.number}]


# --- payee concentration -------------------------------------------------------------------------------

def test_payee_concentration_of_works_ranked_and_a_spread_year_is_not() -> None:
    for n in range(6):
        plant("40000.00", payee="濮阳市宏远建筑工程有限公司", account="6228480066660000001",
              purpose=f"村内道路硬化工程第{n + 1}段", days_ago=10 + n, subject_id=f.subject("1601").id)
    plant("20000.00", payee="濮阳市华龙区兴农农资经营部", purpose="道路维修材料", days_ago=3,
          subject_id=f.subject("1601").id)
    for n in range(6):
        plant("30000.00", payee=("甲建筑公司", "乙建筑公司", "丙建筑公司")[n % 3], account=f"62284800777700000{n % 3}",
              purpose=f"排水工程第{n + 1}段", days_ago=10 + n, village="HL-YC-02", accountant="xy_baozhang",
              subject_id=f.subject("1601").id)
    scan()
    found = flags_of(FlagType.PAYEE_CONCENTRATION)
    assert len(found) == 1 and found[0].village_id == f.unit("HL-YC-01").id
    assert "宏远建筑" in found[0].summary
