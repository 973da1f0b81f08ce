"""Phone numbers (desk.contact) and keyword weights of the dispatcher."""

from __future__ import annotations

import pytest

from desk.contact import find_phone, mask_phone, normalize_phone
from desk.dispatch.classifier import keyword_weight


@pytest.mark.parametrize(
    "typed, digits",
    [
        ("13912345678", "13912345678"),
        ("139 1234 5678", "13912345678"),
        ("139-1234-5678", "13912345678"),
        (" 139.1234.5678 ", "13912345678"),
        ("+86 139 1234 5678", "13912345678"),
        ("+86-13912345678", "13912345678"),
        ("8613912345678", "13912345678"),
        ("１３９１２３４５６７８", "13912345678"),
        ("0571-88886666", "057188886666"),
        ("(0571)88886666", "057188886666"),
        ("（0571）8888－6666", "057188886666"),
        ("010-62345678", "01062345678"),
        ("0571 8888666", "05718888666"),
        ("88886666", "88886666"),
        ("400-123-4567", "4001234567"),
    ],
)
def test_normalize_accepts_numbers_as_people_type_them(typed, digits):
    assert normalize_phone(typed) == (digits, None)


@pytest.mark.parametrize(
    "typed, reason_part",
    [
        ("1391234567", "11位"),
        ("1391234567", "10位"),
        ("139123456789", "12位"),
        ("139 1234 567", "11位"),
        ("12345678901", "13"),  # 11 digits, but no mobile number starts with 12
        ("0571-123", "区号"),
        ("139abc45678", "数字以外"),
        ("", "没有识别到"),
        ("  - ", "没有识别到"),
        ("2345", "格式不正确"),
    ],
)
def test_normalize_rejects_with_a_reason(typed, reason_part):
    digits, reason = normalize_phone(typed)

    assert digits is None
    assert reason_part in reason


def test_normalize_reason_never_contradicts_the_input():
    """An 11-digit number must not be told that a mobile number has 11 digits."""
    _, reason = normalize_phone("12345678901")

    assert "您输入的是11位" not in reason


def test_normalize_accepts_none():
    assert normalize_phone(None)[0] is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text, phone",
    [
        ("我的电话是139 1234 5678，谢谢", "13912345678"),
        ("电话：13912345678", "13912345678"),
        ("联系我 +86 139-1234-5678", "13912345678"),
        ("号码１３９１２３４５６７８", "13912345678"),
        ("座机0571-88886666找王师傅", "057188886666"),
        ("住3栋2单元502室，电话13812345678", "13812345678"),
    ],
)
def test_find_phone_in_a_sentence(text, phone):
    assert find_phone(text) == phone


@pytest.mark.parametrize(
    "text",
    [
        "楼上装修太吵了",
        "订单号20241128123456没有到货",
        "身份证号110101199003071234",
        "电话是1391234567",
        "",
        None,
    ],
)
def test_find_phone_finds_nothing_without_a_valid_number(text):
    assert find_phone(text) is None


@pytest.mark.parametrize(
    "phone, masked",
    [
        ("13912345678", "139****5678"),
        ("057188886666", "0571****66"),
        ("01062345678", "0106****78"),
        ("88886666", "******66"),
        ("4001234567", "********67"),
        (None, None),
        ("", ""),
    ],
)
def test_mask_phone(phone, masked):
    assert mask_phone(phone) == masked


def test_mask_hides_the_middle_of_a_mobile():
    masked = mask_phone("13912345678")

    assert "1234" not in masked
    assert len(masked) == 11


# -- keyword weights ---------------------------------------------------------------


@pytest.mark.parametrize(
    "keyword, text, weight",
    [
        ("烧烤", "路边烧烤摊", 2),
        ("烧烤摊", "路边烧烤摊", 3),
        ("广场舞", "路边烧烤摊", 0),
        ("施工+晚上", "工地晚上还在施工", 6),  # 2 + 2 + 2 for the combination
        ("施工+晚上", "白天施工", 0),  # every part must be there
        ("a+b+c", "abc", 7),  # 1 + 1 + 1 + 2 * 2
        ("a++b", "ab", 4),  # empty parts are ignored
        ("", "anything", 0),
        ("+", "anything", 0),
        ("ktv", "ktv太吵", 3),
    ],
)
def test_keyword_weight(keyword, text, weight):
    assert keyword_weight(keyword, text) == weight


def test_combination_outweighs_its_parts():
    text = "工地晚上还在施工"

    assert keyword_weight("施工+晚上", text) > keyword_weight("施工", text) + keyword_weight("晚上", text)
