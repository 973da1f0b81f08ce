"""Parsing and validation of knowledge-base documents."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from desk.kb.documents import DocumentError, check_filename, find_duplicates, parse_document

GOOD = """---
id: kb-100-test
title: 示范市测试指南
department: PSB
category: general
effective: 2025-03-01
expires: 2026-02-28
keywords: [测试, 12315]
---
开头说明。

## 所需材料
身份证。

### 办理时限
3个工作日。
"""


def test_kb_parses_front_matter_and_sections() -> None:
    document = parse_document(GOOD, "good.md")

    assert document.id == "kb-100-test"
    assert document.meta.effective == dt.date(2025, 3, 1)
    assert document.meta.keywords == ["测试", "12315"]
    assert [(s.heading, s.text) for s in document.sections] == [
        ("", "开头说明。"),
        ("所需材料", "身份证。"),
        ("办理时限", "3个工作日。"),
    ]


@pytest.mark.parametrize(
    "change, reason",
    [
        (("---\nid", "id"), "missing YAML front matter"),
        (("title: 示范市测试指南\n", ""), "title: field required"),
        (("effective: 2025-03-01", "effective: 2025-13-01"), "effective"),
        (("effective: 2025-03-01", "effective: 20250301"), "ISO date"),
        (("expires: 2026-02-28", "expires: 2024-01-01"), "expires must not be earlier than effective"),
        (("category: general", "category: general\nowner: someone"), "owner: extra fields not permitted"),
        (("keywords: [测试, 12315]", "keywords: [测试"), "not valid YAML"),
        (("id: kb-100-test", "id: ../escape"), "id: string does not match regex"),
    ],
)
def test_kb_rejects_bad_front_matter_with_the_reason(change: tuple, reason: str) -> None:
    text = GOOD.replace(*change)
    if change[0] == "---\nid":
        text = GOOD[4:]  # no opening '---'

    with pytest.raises(DocumentError) as caught:
        parse_document(text, "bad.md")

    assert caught.value.file == "bad.md"
    assert reason in caught.value.reason


def test_kb_rejects_a_document_without_text() -> None:
    with pytest.raises(DocumentError, match="no text"):
        parse_document(GOOD.split("---\n", 2)[0] + "---\n" + GOOD.split("---\n")[1] + "---\n\n", "empty.md")


def test_kb_keeps_the_first_of_duplicate_ids() -> None:
    first = parse_document(GOOD, "a.md")
    second = parse_document(GOOD, "b.md")

    kept, errors = find_duplicates([second, first])

    assert [d.filename for d in kept] == ["a.md"]
    assert errors[0].as_dict() == {
        "file": "b.md",
        "reason": "duplicate id 'kb-100-test' (already used by a.md)",
    }


@pytest.mark.parametrize("name", ["../x.md", "a/b.md", "notes.txt", ".hidden.md", "空格 名.md"])
def test_kb_rejects_unsafe_file_names(name: str) -> None:
    with pytest.raises(DocumentError):
        check_filename(name)


def test_kb_validity_dates() -> None:
    document = parse_document(GOOD, "good.md")

    assert document.in_force_on(dt.date(2025, 3, 1))
    assert document.in_force_on(dt.date(2026, 2, 28))
    assert not document.in_force_on(dt.date(2026, 3, 1))
    assert not document.in_force_on(dt.date(2025, 2, 28))
    assert document.in_force_during(2025) and document.in_force_during(2026)
    assert not document.in_force_during(2024)


def test_kb_versions_share_a_family(tmp_path: Path) -> None:
    old = parse_document(GOOD.replace("示范市测试指南", "示范市测试标准（2025年版）"), "a.md")
    new = parse_document(GOOD.replace("示范市测试指南", "示范市测试标准（2026年版）"), "b.md")
    yearly = parse_document(GOOD.replace("示范市测试指南", "示范市2026年度测试标准"), "c.md")

    assert old.family == new.family == "示范市测试标准"
    assert yearly.family == "示范市测试标准"
