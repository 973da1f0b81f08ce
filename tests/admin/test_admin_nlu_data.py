"""The NLU data editor and its checks, on a private copy of nlu_data/."""

from __future__ import annotations

import pytest

from desk.admin.nlu_data import Entity, Example, NluData, NluDataWriter, parse_markup
from desk.admin.validation import check_dataset, check_example, check_token_boundaries, normalise
from desk.errors import Forbidden

INTENTS = ["complain", "greet", "thank", "ask_policy", "inform"]
ENTITIES = ["street", "district", "place"]


def test_markup_round_trips():
    text, entities = parse_markup('[东湖街道](street)的[老李]{"entity": "place", "value": "李记"}烧烤')
    assert text == "东湖街道的老李烧烤"
    assert entities == (Entity(0, 4, "street"), Entity(5, 7, "place", "李记"))
    assert Example("complain", text, entities).markup() == (
        '[东湖街道](street)的[老李]{"entity": "place", "value": "李记"}烧烤'
    )


def test_reviewed_files_are_sorted_one_example_a_line(project):
    writer = NluDataWriter(project["nlu"])
    writer.add_example(Example("complain", "乙路灯坏了"))
    writer.add_example(Example("complain", "甲井盖丢了", (Entity(0, 1, "place"),)))
    text = (project["nlu"] / "reviewed" / "complain.yml").read_text(encoding="utf-8")
    assert text.splitlines()[1:] == [
        'version: "3.1"',
        "nlu:",
        "- intent: complain",
        "  examples: |",
        "    - [甲](place)井盖丢了",
        "    - 乙路灯坏了",
    ]
    data = NluData.load(project["nlu"])
    assert data.find("complain", "甲井盖丢了").file == "reviewed/complain.yml"


def test_hand_written_examples_are_edited_in_place(project):
    path = project["nlu"] / "nlu.yml"
    before = path.read_text(encoding="utf-8").splitlines()
    data = NluData.load(project["nlu"])
    old = data.find("greet", "在不在")
    NluDataWriter(project["nlu"]).replace_example(old, Example("greet", "在不在呀"), data)
    after = path.read_text(encoding="utf-8").splitlines()
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert changed == [("    - 在不在", "    - 在不在呀")]  # a one-line diff, comments and order kept


def test_generated_files_are_never_edited(project):
    data = NluData.load(project["nlu"])
    generated = next(e for e in data.examples if e.file == "from_dispatch_data.yml")
    with pytest.raises(Forbidden, match="脚本生成"):
        NluDataWriter(project["nlu"]).replace_example(generated, None, data)


def test_synonyms_and_lookup_tables_get_their_own_files(project):
    writer = NluDataWriter(project["nlu"])
    assert writer.set_lookup("street", ["东湖街道", "白塔街道"]) == "reviewed/lookup_street.yml"
    assert writer.set_synonym("东湖街道", ["东湖", "东湖街"]) == "reviewed/synonyms.yml"
    data = NluData.load(project["nlu"])
    assert data.lookups == {"street": ["东湖街道", "白塔街道"]} and data.synonyms == {
        "东湖街道": ["东湖", "东湖街"]
    }


def test_duplicates_and_conflicts_are_found(project):
    data = NluData.load(project["nlu"])
    assert check_dataset(data) == []  # the project's data is clean
    same = check_example(data, Example("thank", "谢谢！"), INTENTS, ENTITIES)
    other = check_example(data, Example("complain", "谢谢"), INTENTS, ENTITIES)
    assert [p.code for p in same] == ["duplicate"] and [p.code for p in other] == ["conflict"]
    assert (
        check_example(
            data, Example("complain", "谢谢"), INTENTS, ENTITIES, replacing=data.find("thank", "谢谢")
        )
        == []
    )
    unknown = check_example(data, Example("sing", "唱首歌吧"), INTENTS, ENTITIES)
    assert [p.code for p in unknown] == ["unknown_intent"]
    assert normalise("Ｈｅｌｌｏ  你好。") == "hello 你好"


def test_entity_boundaries_follow_jieba():
    assert check_token_boundaries("东湖街道阳光小区", [Entity(0, 4, "street")]) == []
    problem = check_token_boundaries("东湖街道阳光小区", [Entity(1, 4, "street")])[0]
    assert problem.details["tokens"] == ["东湖", "街道"] and problem.details["suggestion"] == "东湖街道"


def test_entity_boundaries_are_those_of_the_normalised_words():
    # The bot reads 東湖街道 as 东湖街道: its words, but the spans and characters as typed.
    assert check_token_boundaries("東湖街道陽光小區", [Entity(0, 4, "street")]) == []
    problem = check_token_boundaries("東湖街道陽光小區", [Entity(1, 4, "street")])[0]
    assert problem.details["tokens"] == ["東湖", "街道"] and problem.details["suggestion"] == "東湖街道"
