"""Hand-edited YAML: a key written twice is refused with both lines, wherever it is loaded."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from desk import yamlfiles
from desk.city.profile import DEFAULT_PROFILE_PATH, ProfileError, load_profile
from desk.dispatch.normalize import TABLE
from desk.kb.documents import DocumentError, parse_document
from desk.kb.text import LEXICON


def test_a_key_written_twice_is_refused_with_both_lines() -> None:
    with pytest.raises(yaml.YAMLError) as caught:
        yamlfiles.load("expansions:\n  新生儿: [刚出生]\n  落户: [上户口]\n  新生儿: [宝宝]\n")

    assert str(caught.value).splitlines()[0] == "key '新生儿' appears twice (lines 2 and 4)"


def test_equal_keys_in_different_mappings_and_merges_are_fine() -> None:
    data = yamlfiles.load("base: &b {a: 1}\nfirst: {a: 2}\nsecond:\n  <<: *b\n  c: 3\n")

    assert data == {"base": {"a": 1}, "first": {"a": 2}, "second": {"a": 1, "c": 3}}


@pytest.mark.parametrize("path", [LEXICON, TABLE, DEFAULT_PROFILE_PATH], ids=lambda p: Path(p).name)
def test_the_shipped_word_tables_and_profile_have_no_key_twice(path: Path) -> None:
    yamlfiles.load(Path(path).read_text(encoding="utf-8"))


def test_a_city_profile_with_a_district_twice_is_refused(tmp_path: Path) -> None:
    text = DEFAULT_PROFILE_PATH.read_text(encoding="utf-8")
    path = tmp_path / "city.yaml"
    path.write_text(text + "\ncity: {code: again}\n", encoding="utf-8")

    with pytest.raises(ProfileError, match="appears twice"):
        load_profile(path)


def test_a_document_with_a_front_matter_field_twice_is_rejected() -> None:
    text = (
        "---\nid: kb-100-test\ntitle: 测试\ndepartment: X\ncategory: general\n"
        "effective: 2025-01-01\nexpires: null\nexpires: 2026-01-01\nkeywords: [测试]\n---\n## 说明\n正文。\n"
    )

    with pytest.raises(DocumentError) as caught:
        parse_document(text, "twice.md")

    assert "'expires' appears twice (lines 7 and 8)" in caught.value.reason
