"""Names on public pages: a private person's name is masked (张桂兰 → 张*兰), an organisation's is not.

财务公开 must say who was paid; for a company, shop or co-operative the name is the point, for a villager
it is personal data that a page anyone can open (and search engines could keep) need not spell out. The
paper on the village notice board keeps the full names. Organisations are told apart by their name: a
word that only an organisation's name carries (公司, 合作社, 经营部, 村委会 …), or, for a name longer than a
person's, a one-character ending such as 店, 厂 or 队."""

from __future__ import annotations

import re

# Anywhere in the name.
ORG_WORDS = (
    "公司", "有限", "集团", "合作社", "联合社", "村委会", "居委会", "委员会", "经济社", "股份", "经营部", "门市",
    "超市", "商行", "商店", "商贸", "工作室", "事务所", "中心", "医院", "卫生院", "卫生室", "诊所", "学校",
    "小学", "中学", "幼儿园", "银行", "信用社", "农商", "供电", "电力", "自来水", "移动", "联通", "电信",
    "政府", "街道", "办事处", "协会", "基地", "农场", "养殖场", "林场", "加工", "工程", "建筑", "装饰",
    "设计院", "研究院", "研究所", "出版", "印刷", "广告", "物流", "运输", "酒店", "饭店", "宾馆", "餐厅",
)
# As the last character of a name of four characters or more (a person's name is two to three, rarely four).
ORG_ENDINGS = ("店", "厂", "部", "社", "行", "所", "站", "院", "局", "队", "场", "馆", "会", "室", "处", "村",
               "镇", "乡", "组", "团", "校", "司", "坊", "铺", "庄", "园")
LATIN_ORG = re.compile(r"\b(co|company|corp|corporation|inc|ltd|limited|llc|gmbh|group|bank|store|shop)\b\.?",
                       re.IGNORECASE)


def is_organisation(name: str) -> bool:
    text = name.strip()
    if any(word in text for word in ORG_WORDS) or LATIN_ORG.search(text):
        return True
    core = re.sub(r"[（(].*?[)）]", "", text).strip()
    return len(core) >= 4 and core[-1] in ORG_ENDINGS


def mask_name(name: str) -> str:
    """The name as a public page shows it: an organisation's whole, a person's masked."""
    text = (name or "").strip()
    if not text or is_organisation(text):
        return text
    if text.isascii():
        return " ".join(word[0] + "*" * (len(word) - 1) for word in text.split())
    if len(text) <= 2:
        return text[0] + "*" * (len(text) - 1)
    return text[0] + "*" * (len(text) - 2) + text[-1]
