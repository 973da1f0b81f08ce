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


def test_other_messages_keep_their_intent() -> None:
    assert _classify("图片上的烧烤摊是谁管", "ask_policy") == "ask_policy"


def test_the_channels_and_the_form_use_the_same_prefixes() -> None:
    assert MEDIA_PREFIXES == (SHARED_PICTURE, SHARED_LOCATION)
