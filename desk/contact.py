"""Phone numbers as citizens type them: validation, normalisation and masking.

Used by desk when it stores a ticket and by the action server when it asks for a
contact number, so both agree on what a valid number is.
"""

from __future__ import annotations

import re
from typing import Optional, Tuple

_SEPARATORS = re.compile(r"[\s\-－—()（）.·]")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}[2-9]\d{6,7}$")
_LOCAL = re.compile(r"^[2-9]\d{6,7}$")
_SERVICE = re.compile(r"^[48]00\d{7}$")
_IN_TEXT = re.compile(r"(?<!\d)(?:\+?86[\s\-]?)?(1[3-9]\d(?:[\s\-]?\d){8}|0\d{2,3}[\s\-]?\d{7,8})(?!\d)")
_FULLWIDTH = str.maketrans("０１２３４５６７８９＋", "0123456789+")


def normalize_phone(raw: str) -> Tuple[Optional[str], Optional[str]]:
    """Returns (digits, None) for a valid number, or (None, reason in Chinese)."""
    text = _SEPARATORS.sub("", (raw or "").translate(_FULLWIDTH))
    if text.startswith("+86"):
        text = text[3:]
    elif text.startswith("86") and len(text) == 13:
        text = text[2:]
    if not text:
        return None, "没有识别到电话号码"
    if not text.isdigit():
        return None, "号码里有数字以外的字符"
    for pattern in (_MOBILE, _LANDLINE, _LOCAL, _SERVICE):
        if pattern.match(text):
            return text, None
    if text.startswith("1") and len(text) == 11:
        return None, "手机号码应以13到19开头，请核对号码"
    if text.startswith("1"):
        return None, f"手机号码应为11位，您输入的是{len(text)}位"
    if text.startswith("0"):
        return None, "固定电话应为区号加7到8位号码，例如 0571-88886666"
    return None, "号码位数或格式不正确"


def find_phone(text: str) -> Optional[str]:
    """Finds a valid phone number inside a sentence ("电话是139 1234 5678")."""
    for match in _IN_TEXT.finditer((text or "").translate(_FULLWIDTH)):
        phone, _ = normalize_phone(match.group(1))
        if phone:
            return phone
    return None


def mask_phone(phone: Optional[str]) -> Optional[str]:
    """139****5678 for mobiles; area code and last two digits for other numbers."""
    if not phone:
        return phone
    if len(phone) == 11 and phone.startswith("1"):
        return f"{phone[:3]}****{phone[-4:]}"
    if phone.startswith("0") and len(phone) > 6:
        return f"{phone[:4]}****{phone[-2:]}"
    return f"{'*' * (len(phone) - 2)}{phone[-2:]}"
