"""Demo payment requests in every state across the four demo villages, made through the same services
people use (so each has its history and audit events), with small generated photos of invoices,
contracts, minutes and bank receipts."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from functools import cache
from typing import Any

from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import select

from finance.attachment_kinds import AttachmentKind
from finance.auth.models import User
from finance.controls import services as controls
from finance.controls.queries import control_rules
from finance.extensions import db
from finance.money import to_capital
from finance.orgs.models import AccountSubject, OrgUnit
from finance.payment_requests import services as requests
from finance.payment_requests.models import PaymentRequest
from finance.payment_requests.route import current_step_role
from finance.payments import services as payments
from finance.roles import Role
from finance.timefmt import today_local

FONT_PATHS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
)

# Demo people by village prefix and township prefix (see finance.demo.district.PEOPLE).
VILLAGES = {
    "HL-YC-01": ("dy", "yc"),
    "HL-YC-02": ("xy", "yc"),
    "HL-MK-01": ("mk", "mk"),
    "HL-MK-02": ("ws", "mk"),
}
TOWNSHIP_HEAD = {"yc": "yc_zhenzhang", "mk": "mk_xiangzhang"}


@dataclass
class Demo:
    village: str
    payee: str
    bank: str
    account: str
    amount: str
    purpose: str
    subject: str
    fund_source: str
    budget_line: str
    script: list[Any] = field(default_factory=list)
    complete: bool = True  # with every attachment its amount needs
    voucher: AttachmentKind = AttachmentKind.INVOICE  # a 发票 (its facts typed) or another voucher


# Scripts: "submit", ("approve", n steps) or ("approve", None) for all, ("return", reason),
# ("reject", reason), "withdraw", "pay", "reconcile".
DEMOS = [
    # 东岳村
    Demo(
        "HL-YC-01",
        "濮阳市华龙区文华办公用品商行",
        "中国建设银行濮阳分行",
        "6217 0022 5001 3388 012",
        "1280.00",
        "村委会办公用品采购（打印纸 20 包、硒鼓 4 个）",
        "5401",
        "村集体经营收入",
        "2026年度管理费用预算",
        ["submit", ("approve", None), "pay", "reconcile"],
    ),
    Demo(
        "HL-YC-01",
        "濮阳市明亮照明工程有限公司",
        "中国工商银行濮阳华龙支行",
        "1708 0212 0910 0045 678",
        "18600.00",
        "村内主干道路灯维修，更换 LED 灯具 36 盏",
        "5501",
        "上级转移支付资金",
        "2026年度公益支出预算",
        ["submit", ("approve", None), "pay"],
    ),
    Demo(
        "HL-YC-01",
        "河南濮建建筑工程有限公司",
        "中国农业银行濮阳华龙支行",
        "1660 1101 0400 1234 5",
        "186000.00",
        "东岳村文化广场硬化及排水工程（一期）",
        "1601",
        "一事一议财政奖补资金",
        "2026年度基础设施建设计划",
        ["submit", ("approve", 4)],
    ),
    Demo(
        "HL-YC-01",
        "华龙区兴农苗木种植专业合作社",
        "濮阳农村商业银行岳村支行",
        "6230 5900 1122 3344 556",
        "4560.00",
        "春季村内道路绿化，采购国槐苗木 120 株",
        "5501",
        "村集体经营收入",
        "2026年度公益支出预算",
        ["submit", ("return", "附件为收据，请补开正式发票后重新提交。"), "submit", ("approve", None)],
    ),
    Demo(
        "HL-YC-01",
        "张秀兰",
        "中国邮政储蓄银行华龙区支行",
        "6217 9950 0012 3456 789",
        "2400.00",
        "村保洁员 11 月工资",
        "2301",
        "村集体经营收入",
        "2026年度应付工资",
        [],
    ),
    Demo(
        "HL-YC-01",
        "濮阳市华龙区格力空调专卖店",
        "中国银行濮阳分行",
        "2515 6603 8891 0021 3",
        "3980.00",
        "村卫生室空调采购（1.5 匹 1 台）",
        "1501",
        "村集体经营收入",
        "2026年度固定资产购置",
        ["submit", ("approve", 1), ("return", "请补充三家比价单，并注明由谁验收。")],
    ),
    Demo(
        "HL-YC-01",
        "濮阳市华龙区顺达水暖器材经营部",
        "濮阳农村商业银行岳村支行",
        "6230 5900 2211 8866 301",
        "6850.00",
        "村委会院内供水管道维修，更换 PPR 管材及阀门",
        "5401",
        "村集体经营收入",
        "2026年度管理费用预算",
        ["submit"],
    ),
    Demo(
        "HL-YC-01",
        "濮阳市华龙区惠民农机服务部",
        "中国农业银行濮阳华龙支行",
        "6228 4800 1277 0033 912",
        "9600.00",
        "秋收后租用农机清理村集体土地秸秆（48 亩）",
        "5201",
        "村集体经营收入",
        "2026年度经营支出预算",
        ["submit", ("approve", 1)],
    ),
    # 西岳村
    Demo(
        "HL-YC-02",
        "濮阳市华龙区顺达机电维修部",
        "濮阳农村商业银行岳村支行",
        "6230 5900 8765 4321 001",
        "6750.00",
        "农田灌溉机井 3 眼维修，更换潜水泵 2 台",
        "5201",
        "村集体经营收入",
        "2026年度经营支出预算",
        ["submit"],
    ),
    Demo(
        "HL-YC-02",
        "濮阳市安居防水工程有限公司",
        "中国建设银行濮阳分行",
        "4100 1522 0100 5000 3321",
        "32800.00",
        "村党群服务中心屋面防水维修",
        "5401",
        "上级转移支付资金",
        "2026年度管理费用预算",
        ["submit", ("approve", 2)],
    ),
    Demo(
        "HL-YC-02",
        "西岳村村民委员会",
        "濮阳农村商业银行岳村支行",
        "6230 5900 1100 2200 330",
        "9600.00",
        "2026 年度村干部误工补贴",
        "5501",
        "村集体经营收入",
        "2026年度公益支出预算",
        ["submit", ("approve", 2), ("reject", "误工补贴应按镇定标准从应付工资列支，不得从公益支出列支。")],
    ),
    Demo(
        "HL-YC-02",
        "濮阳市安泰消防器材有限公司",
        "中国工商银行濮阳华龙支行",
        "1708 0212 0910 0088 123",
        "2150.00",
        "购买灭火器 30 具、消防水带 4 盘",
        "5401",
        "村集体经营收入",
        "2026年度管理费用预算",
        ["submit", "withdraw"],
    ),
    Demo(  # a draft filed twice by mistake and discarded (作废); its number is not reused
        "HL-YC-02",
        "濮阳市安泰消防器材有限公司",
        "中国工商银行濮阳华龙支行",
        "1708 0212 0910 0088 123",
        "2150.00",
        "购买灭火器 30 具、消防水带 4 盘（重复录入）",
        "5401",
        "村集体经营收入",
        "2026年度管理费用预算",
        ["discard"],
    ),
    Demo(
        "HL-YC-02",
        "濮阳市通达路桥工程有限公司",
        "中国农业银行濮阳华龙支行",
        "1660 1101 0400 7788 9",
        "72500.00",
        "西岳村生产道路修复工程（1.2 公里）",
        "1601",
        "一事一议财政奖补资金",
        "2026年度基础设施建设计划",
        ["submit", ("approve", None)],
    ),
    # 孟轲村
    Demo(
        "HL-MK-01",
        "中国人民财产保险股份有限公司濮阳市分公司",
        "中国工商银行濮阳分行",
        "1708 0212 0900 0012 345",
        "3600.00",
        "村级公益岗位 30 人意外伤害保险",
        "5501",
        "上级转移支付资金",
        "2026年度公益支出预算",
        ["submit", ("approve", None), "pay"],
    ),
    Demo(
        "HL-MK-01",
        "濮阳市华龙区洁美环卫服务有限公司",
        "中国邮政储蓄银行华龙区支行",
        "9410 0501 2000 3344 5",
        "12000.00",
        "村内垃圾清运服务（第四季度）",
        "5501",
        "村集体经营收入",
        "2026年度公益支出预算",
        ["submit", ("approve", 3)],
    ),
    Demo(
        "HL-MK-01",
        "濮阳市丰收农机销售有限公司",
        "中国农业银行濮阳孟轲支行",
        "1660 2201 0400 5566 7",
        "58000.00",
        "村集体农机具购置（旋耕机 2 台）",
        "1501",
        "村集体经营收入",
        "2026年度固定资产购置",
        [],
    ),
    Demo(
        "HL-MK-01",
        "中国联合网络通信有限公司濮阳市分公司",
        "中国工商银行濮阳分行",
        "1708 0212 0900 0099 888",
        "1200.00",
        "村委会网络宽带年费",
        "5401",
        "村集体经营收入",
        "2026年度管理费用预算",
        ["submit", ("approve", None)],
    ),
    # 王什村
    Demo(
        "HL-MK-02",
        "濮阳市水务建设工程有限公司",
        "中国建设银行濮阳分行",
        "4100 1522 0100 5000 7788",
        "96000.00",
        "王什村饮水安全管网改造工程",
        "1601",
        "上级转移支付资金",
        "2026年度基础设施建设计划",
        ["submit", ("approve", None), "pay", "reconcile"],
    ),
    Demo(
        "HL-MK-02",
        "濮阳市华龙区墨香广告设计部",
        "濮阳农村商业银行孟轲支行",
        "6230 5900 6655 4433 221",
        "8800.00",
        "村史馆展板设计制作 24 块",
        "5501",
        "村集体经营收入",
        "2026年度公益支出预算",
        ["submit", ("approve", 1)],
    ),
    Demo(
        "HL-MK-02",
        "濮阳市华龙区诚信广告制作部",
        "濮阳农村商业银行孟轲支行",
        "6230 5900 1234 0099 887",
        "2350.00",
        "村务公开栏更新（不锈钢 2 块）",
        "5401",
        "村集体经营收入",
        "2026年度管理费用预算",
        [],
        complete=False,
    ),
    Demo(
        "HL-MK-02",
        "濮阳市华龙区惠民超市",
        "中国邮政储蓄银行华龙区支行",
        "6217 9950 0099 8877 665",
        "5200.00",
        "冬季困难群众慰问品采购（米、面、油 65 份）",
        "5501",
        "村集体经营收入",
        "2026年度公益支出预算",
        ["submit", ("return", "请附上慰问对象名单（须经村务监督委员会签字）。"), "submit"],
    ),
    # The village lead paid for leading the work himself: his own account is in the register, so he must
    # recuse (须回避); he is the village's only lead, so his step goes up to the 包村领导 (issue 11).
    Demo(
        "HL-MK-02",
        "罗海军",
        "中国农业银行濮阳孟轲支行",
        "6228 4800 6600 1122 334",
        "3200.00",
        "村部院墙修补带工人工费（8 个工日）",
        "5401",
        "村集体经营收入",
        "2026年度管理费用预算",
        ["submit", ("approve", 1)],
        voucher=AttachmentKind.LABOUR_SLIP,
    ),
]

# The controls' data the demo shows (issue 11): an official's own account in the register, and each
# township's 负面清单 (烟酒 refused; 礼品 and 慰问品 warned: 王什村's 慰问品 request shows the warning).
OWN_ACCOUNTS = {"ws_shuji": "6228 4800 6600 1122 334"}
NEGATIVE_LISTS = {
    "HL-YC": [("烟酒", "烟酒 香烟 白酒", "refuse"), ("礼品", "礼品 购物卡", "warn")],
    "HL-MK": [("烟酒", "烟酒 香烟 白酒", "refuse"), ("礼品", "礼品 购物卡 慰问品", "warn")],
}


@cache
def _font(size: int) -> Any:
    for path in FONT_PATHS:
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            continue
    return None


def document_photo(title: str, lines: list[str], tint: str = "#fbf8ef") -> bytes:
    """A small JPEG that looks like a photographed paper form: a title, a few lines, a red stamp."""
    img = Image.new("RGB", (560, 400), tint)
    draw = ImageDraw.Draw(img)
    big, small = _font(30), _font(18)
    if big is None:  # no CJK font on this machine: draw the shapes only
        draw.rectangle((20, 20, 540, 70), outline="#333", width=2)
        for i in range(len(lines)):
            draw.line((30, 100 + i * 34, 520, 100 + i * 34), fill="#555", width=2)
    else:
        draw.text((280, 44), title, fill="#1b1f24", font=big, anchor="mm")
        for i, line in enumerate(lines):
            draw.text((30, 90 + i * 34), line, fill="#333", font=small)
    draw.rectangle((10, 10, 550, 390), outline="#8a8a8a", width=2)
    draw.ellipse((420, 290, 530, 380), outline="#c8102e", width=4)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=70)
    return buf.getvalue()


def document_pdf(title: str, lines: list[str]) -> bytes:
    buf = io.BytesIO()
    Image.open(io.BytesIO(document_photo(title, lines, "#ffffff"))).save(buf, "PDF", resolution=72)
    return buf.getvalue()


def _input(demo: Demo, subjects: dict[str, AccountSubject]) -> requests.RequestInput:
    amount = Decimal(demo.amount)
    data = requests.RequestInput(
        payee_name=demo.payee,
        payee_bank=demo.bank,
        payee_account=demo.account,
        amount=amount,
        purpose=demo.purpose,
        subject_id=subjects[demo.subject].id,
        fund_source=demo.fund_source,
        budget_line=demo.budget_line,
    )
    if amount >= Decimal("50000"):
        data.meeting_date = today_local() - timedelta(days=12)
        data.meeting_attendance = 42
        data.meeting_amount = amount
    return data


def _attach_all(user: User, req: PaymentRequest, demo: Demo, n: int) -> None:
    amount = Decimal(demo.amount)
    figures = f"金额：¥{amount:,.2f}  {to_capital(amount, prefix=True)}"
    if not demo.complete:  # a draft still waiting for its invoice photo
        return
    number = f"2641{n:016d}"
    voucher = requests.add_attachment(
        user,
        req,
        demo.voucher,
        "发票.jpg" if demo.voucher == AttachmentKind.INVOICE else "签收单.jpg",
        document_photo(
            "河南增值税普通发票" if demo.voucher == AttachmentKind.INVOICE else "个人劳务签收单",
            [
                f"发票号码：{number}" if demo.voucher == AttachmentKind.INVOICE else f"签收人：{demo.payee}",
                f"购买方：{req.village.name}股份经济合作社",
                f"销售方：{demo.payee}",
                f"项目：{demo.purpose[:18]}",
                figures,
            ],
        ),
    )
    if voucher is not None and demo.voucher == AttachmentKind.INVOICE:  # its facts, typed beside the photo
        controls.record_invoice(user, voucher, controls.InvoiceInput(
            number=number, invoice_date=today_local() - timedelta(days=5), seller=demo.payee, amount=demo.amount))
    if Decimal(demo.amount) >= Decimal("50000") or "工程" in demo.purpose:  # 四议两公开, as a record
        res = controls.create_resolution(user, req.village, controls.ResolutionInput(
            matter=demo.purpose[:60], matter_kind="works" if "工程" in demo.purpose else "purchase",
            meeting_date=today_local() - timedelta(days=12), expected=45, present=42, amount=demo.amount,
            minutes=controls.Upload("会议记录.jpg", document_photo("村民代表会议记录", [demo.purpose[:22], figures])),
            publicity=controls.Upload("决议公开.jpg", document_photo("决议公开", [demo.purpose[:22], figures]))),
            control_rules(req.village.township))
        controls.link_request(user, req, resolution_id=res.id)
    if amount >= Decimal("10000"):
        requests.add_attachment(
            user,
            req,
            AttachmentKind.CONTRACT,
            "合同.pdf",
            document_pdf(
                "合  同  书",
                [f"甲方：{req.village.name}村民委员会", f"乙方：{demo.payee}", demo.purpose[:22], figures],
            ),
        )
    if amount >= Decimal("20000"):
        requests.add_attachment(
            user,
            req,
            AttachmentKind.ACCEPTANCE,
            "验收单.jpg",
            document_photo(
                "工程（货物）验收单", [demo.purpose[:22], "验收意见：合格", "验收人：（5 人签字）"], "#f4f7fb"
            ),
        )
    if amount >= Decimal("50000"):
        requests.add_attachment(
            user,
            req,
            AttachmentKind.MINUTES,
            "四议两公开会议记录.jpg",
            document_photo(
                "村民代表会议决议",
                [
                    "党支部提议 → 两委商议 → 党员大会审议",
                    "→ 村民代表会议决议（42 人参加）",
                    demo.purpose[:22],
                    figures,
                ],
                "#f7f3e8",
            ),
        )


def _approver(req: PaymentRequest, users: dict[str, User]) -> User:
    village_prefix, town_prefix = VILLAGES[req.village.code]
    role = current_step_role(req)
    name = {
        Role.VILLAGE_LEAD: f"{village_prefix}_shuji",
        Role.VILLAGE_SUPERVISOR: f"{village_prefix}_jianwei",
        Role.AGENCY_REVIEWER: f"{town_prefix}_shenhe",
        Role.TOWNSHIP_LEADER: f"{town_prefix}_baocun",
        Role.TOWNSHIP_HEAD: TOWNSHIP_HEAD[town_prefix],
    }[role]  # type: ignore[index]
    return users[name]


def _key() -> str:
    return uuid.uuid4().hex


def _run(req: PaymentRequest, demo: Demo, users: dict[str, User], accountant: User, n: int) -> None:
    cashier = users[f"{VILLAGES[req.village.code][1]}_chuna"]
    for step in demo.script:
        name, arg = (step, None) if isinstance(step, str) else step
        if name == "submit":
            requests.submit(accountant, req, client_key=_key())
        elif name == "approve":
            count = arg if arg is not None else 99
            while count and current_step_role(req) is not None:
                requests.approve(_approver(req, users), req, "同意。", client_key=_key())
                count -= 1
        elif name == "return":
            requests.return_for_revision(_approver(req, users), req, str(arg), client_key=_key())
        elif name == "reject":
            requests.reject(_approver(req, users), req, str(arg), client_key=_key())
        elif name == "withdraw":
            requests.withdraw(accountant, req, client_key=_key())
        elif name == "discard":
            requests.discard(accountant, req, client_key=_key())
        elif name == "pay":
            assert req.amount is not None
            receipt = document_photo(
                "中国农业银行 网上银行电子回单",
                [
                    f"付款人：{req.village.bank_account_name or req.village.name}",
                    f"收款人：{req.payee_name}",
                    f"收款账号：{req.payee_account}",
                    f"金额：¥{req.amount:,.2f}",
                    f"用途：{req.purpose[:16]}",
                ],
                "#eef5ff",
            )
            payments.record_payment(
                cashier,
                req,
                payments.PaymentInput(
                    bank_reference=f"NYH{today_local():%Y%m%d}{n:06d}",
                    value_date=today_local(),
                    amount=req.amount,
                    payee_name=req.payee_name,
                    payee_account=req.payee_account,
                    payer_account=req.village.bank_account or "",
                    receipt_filename="银行回单.jpg",
                    receipt_data=receipt,
                ),
                client_key=_key(),
            )
        elif name == "reconcile":
            TO_RECONCILE.append(req)  # by its line on the demo statement (finance.demo.bank)
        else:  # pragma: no cover - a typo in the table above
            raise ValueError(name)


# The paid requests whose script reconciles them: their lines go on the demo statement.
TO_RECONCILE: list[PaymentRequest] = []


def seed_requests(users: dict[str, User]) -> list[PaymentRequest]:
    """Create the demo requests through the services. Does not commit (the caller does)."""
    TO_RECONCILE.clear()
    subjects = {s.code: s for s in db.session.execute(select(AccountSubject)).scalars()}
    villages = {
        v.code: v
        for v in db.session.execute(select(OrgUnit).where(OrgUnit.code.in_(list(VILLAGES)))).scalars()
    }
    seed_controls(users)
    made = []
    for n, demo in enumerate(DEMOS, start=1):
        accountant = users[f"{VILLAGES[demo.village][0]}_baozhang"]
        req = requests.create_draft(
            accountant, villages[demo.village], _input(demo, subjects), client_key=_key()
        )
        _attach_all(accountant, req, demo, n)
        _run(req, demo, users, accountant, n)
        made.append(req)
    db.session.flush()
    return made


def seed_controls(users: dict[str, User]) -> None:
    """The register lines and 负面清单 the demo requests meet (through the controls' services)."""
    admin = users["hl_admin"]
    for username, account in OWN_ACCOUNTS.items():
        controls.set_own_identity(admin, users[username], controls.PersonInput(accounts=account))
    towns = {t.code: t for t in db.session.execute(select(OrgUnit).where(OrgUnit.code.in_(list(NEGATIVE_LISTS))))
             .scalars()}
    for code, items in NEGATIVE_LISTS.items():
        for item, keywords, action in items:
            controls.add_negative_item(admin, towns[code], controls.NegativeItemInput(
                item=item, keywords=keywords, action=action))
