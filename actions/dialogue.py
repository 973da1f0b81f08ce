"""Reading a citizen's Chinese replies: times, corrections, consent and ticket ids.

Pure functions over text, so the form logic stays small and the rules are testable
without a running bot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from desk.contact import find_phone

ANONYMOUS = "匿名"

_TIME = re.compile(
    r"(?:每天|天天|每晚|每周|每到|经常|一直|总是|长期|最近|近期|这几天|这两天|这段时间|"
    r"大前天|前天|昨天|今天|昨晚|今晚|今早|上周|本周|这周|上个月|这个月|本月|"
    r"半夜|深夜|凌晨|清晨|早上|上午|中午|下午|傍晚|晚上|夜里|夜间|白天|周末|"
    r"\d{1,2}[:：]\d{2}|\d{1,2}点(?:多|半|左右)?|[一二三四五六七八九十两]{1,3}点(?:多|半|左右)?|"
    r"\d{1,2}月\d{1,2}[日号]|\d{1,2}[日号]|周[一二三四五六日末]|星期[一二三四五六日天]|刚才|刚刚|现在)"
)
_CORRECTION_CUE = re.compile(
    r"说错了|写错了|搞错了|弄错了|打错了|不对|错了|更正|改成|改为|改一下|修改|应该是|纠正"
)
_VALUE_START = re.compile(r"(?:应该是|改成|改为|换成|是|：|:)\s*")
_CLAUSE_START = re.compile(r"[，,]\s*")
_FIELDS = (
    ("phone", ("电话", "手机", "号码", "联系方式")),
    ("location", ("地址", "地点", "位置", "地方", "门牌", "小区", "街道")),
    ("occurred_at", ("时间", "时候", "日期", "几点")),
    ("description", ("内容", "情况", "问题", "描述", "事情")),
)
_AFFIRM = re.compile(
    r"^(?:确认|确定|对|对的|是的|是|没错|没问题|正确|无误|好的|好|可以|行|嗯|提交|确认提交)+[。.!！]*$"
)
_DENY = re.compile(r"^(?:不对|不是|错了|不正确|有误|否|不)+[。.!！]*$")
_ANONYMOUS = re.compile(r"匿名|不方便留|不想留|不留|不愿意留|不给电话|保密")
_GENERIC_REQUEST = re.compile(
    r"我|要|想|需要|投诉|反映|举报|求助|建议|一下|一个|个|问题|情况|事情|事|有|下|的|了|，|。|！|、|\s"
)
TICKET_ID = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{1,6}\d{12})(?!\d)")


@dataclass(frozen=True)
class Correction:
    """A citizen correcting one detail: the field it names (if any) and the new value."""

    field: Optional[str]
    value: str


def find_time(text: str) -> Optional[str]:
    """The time expressions in ``text`` in order, e.g. "天天、晚上"; None if there are none."""
    spans: list = []
    for match in _TIME.finditer(text or ""):
        if spans and spans[-1][1] == match.start():
            spans[-1][1] = match.end()  # adjacent words form one expression
        else:
            spans.append([match.start(), match.end()])
    found: list = []
    for start, end in spans:
        if text[start:end] not in found:
            found.append(text[start:end])
    return "、".join(found) if found else None


def find_correction(text: str) -> Optional[Correction]:
    """Parses "地址说错了，是城西区白塔街道…" into Correction("location", "城西区白塔街道…")."""
    text = (text or "").strip()
    cue = _CORRECTION_CUE.search(text)
    if not cue:
        return None
    field = _named_field(text[: cue.end() + 6])
    marker = _VALUE_START.search(text, cue.start()) or _CLAUSE_START.search(text, cue.start())
    value = text[marker.end() :].strip(" ，,。.！!") if marker else ""
    if field is None:
        field = _field_of_value(value)
    return Correction(field, value)


def _named_field(head: str) -> Optional[str]:
    """The field named around the correction cue ("地址说错了", "改一下电话")."""
    for field, words in _FIELDS:
        if any(w in head for w in words):
            return field
    return None


def _field_of_value(value: str) -> Optional[str]:
    if find_phone(value):
        return "phone"
    if find_time(value) and len(value) <= 12:
        return "occurred_at"
    return None


def is_affirmation(text: str) -> bool:
    return bool(_AFFIRM.match((text or "").strip()))


def is_denial(text: str) -> bool:
    return bool(_DENY.match((text or "").strip()))


def declines_phone(text: str) -> bool:
    return bool(_ANONYMOUS.search(text or ""))


def has_substance(description: str) -> bool:
    """False for a bare "我要投诉" that says nothing about the problem itself."""
    return len(_GENERIC_REQUEST.sub("", description or "")) >= 2


def find_ticket_id(text: str) -> Optional[str]:
    match = TICKET_ID.search(text or "")
    return match.group(1).upper() if match else None
