"""Our own Rasa NLU component (bot/nlu.py), without a trained model."""

from __future__ import annotations

from rasa.shared.nlu.training_data.message import Message

from actions.forms import SHARED_LOCATION, SHARED_PICTURE
from bot.nlu import MEDIA_PREFIXES, SharedMediaClassifier


def _classify(text: str, intent: str) -> str:
    message = Message(data={"text": text, "intent": {"name": intent, "confidence": 0.6}})
    SharedMediaClassifier().process([message])
    return message.get("intent")["name"]


def test_pictures_and_locations_are_answers() -> None:
    assert _classify("[图片] http://127.0.0.1:41237/uploads/Zk3.png", "ask_policy") == "inform"
    assert _classify("我的位置：城东区幸福小区", "complain") == "inform"


def test_a_bare_number_is_an_answer() -> None:
    for text in [
        "13912345678",
        "139 1234 5678",
        "+86 139-1234-5678",
        "０５７１－８８８８６６６６",
        " 88886666 ",
    ]:
        assert _classify(text, "ask_policy") == "inform", text


def test_other_messages_keep_their_intent() -> None:
    assert _classify("2025年的公积金贷款利率", "ask_policy") == "ask_policy"
    assert _classify("1234", "check_ticket") == "check_ticket"
    assert _classify("图片上的烧烤摊是谁管", "ask_policy") == "ask_policy"


def test_the_channels_and_the_form_use_the_same_prefixes() -> None:
    assert MEDIA_PREFIXES == (SHARED_PICTURE, SHARED_LOCATION)


def _tokens(text: str) -> list:
    from bot.nlu import NormalizingJiebaTokenizer

    tokenizer = NormalizingJiebaTokenizer(NormalizingJiebaTokenizer.get_default_config(), None, None)
    tokens = tokenizer.tokenize(Message(data={"text": text}), "text")
    return [(t.text, t.start, t.end, t.lemma) for t in tokens]


def test_the_tokenizer_reads_normalised_words_and_keeps_what_was_typed() -> None:
    tokens = _tokens("樓上裝修噪因太大，我要投訴")
    assert ("裝修", 2, 4, "装修") in tokens
    assert ("噪因", 4, 6, "噪音") in tokens
    assert ("投訴", 11, 13, "投诉") in tokens
    assert [lemma for *_, lemma in tokens if lemma in {"楼上", "装修"}] == ["楼上", "装修"]


def test_token_spans_point_into_the_original_text_when_a_rewrite_changes_length() -> None:
    text = "ＡＢＣ小区  冇电，点算"
    for typed, start, end, _ in _tokens(text):
        assert text[start:end] == typed
    lemmas = [lemma for *_, lemma in _tokens(text)]
    assert "abc" in lemmas and "怎么办" in lemmas and "没有" in lemmas


def test_spans_cover_each_normalised_character() -> None:
    from desk.dispatch.normalize import spans

    assert spans("公積金", "公积金") == [(0, 1), (1, 2), (2, 3)]
    assert spans("点算", "怎么办") == [(0, 1), (0, 2), (1, 2)]
    assert spans("a  b", "a b") == [(0, 1), (1, 2), (3, 4)]
