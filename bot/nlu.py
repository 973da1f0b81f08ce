"""Rasa NLU components of our own (referenced from config.yml as ``bot.nlu.<Class>``)."""

from __future__ import annotations

import re
from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.channels.media import LOCATION, PICTURE
from desk.dispatch.normalize import normalized_tokens

MEDIA_PREFIXES = (PICTURE, LOCATION)  # how the channels pass a picture or a location
MEDIA_INTENT = "inform"
# Digits with the separators people type in a phone number ("+86 139-1234-5678", "０５７１（88886666）").
_NUMBER_ONLY = re.compile(r"[+＋]?[0-9０-９\s\-－—()（）.·]+")
_MIN_DIGITS = 5


def _bare_number(text: str) -> bool:
    return bool(_NUMBER_ONLY.fullmatch(text)) and sum(ch.isdigit() for ch in text) >= _MIN_DIGITS


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class SharedMediaClassifier(GraphComponent):
    """A picture, a shared location or a bare number is an answer (``inform``), never a
    question.

    The statistical classifier sees a random upload name and port in "[图片] http://…/x.png"
    and once in a while called it ``ask_policy``, which sent a complaint's photo to the
    knowledge base. A message of digits alone ("139 1234 5678", the phone the form asked
    for) is one feature to it (Rasa's count vectors read every number as ``__NUMBER__``),
    and whichever intent has most numbers in its examples wins: once the training data
    changed, that was ``ask_policy``. Placed last in the pipeline, this decides such messages
    by their shape.
    """

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "SharedMediaClassifier":
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = (message.get(TEXT) or "").strip()
            if text.startswith(MEDIA_PREFIXES) or _bare_number(text):
                intent = {INTENT_NAME_KEY: MEDIA_INTENT, PREDICTED_CONFIDENCE_KEY: 1.0}
                message.set(INTENT, intent, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [intent], add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True)
class NormalizingJiebaTokenizer(JiebaTokenizer):
    """Jieba over the text the desk reads, not the raw message.

    Citizens type traditional characters (公積金), dialect words (囝仔, 嗰度, 啥物) and input
    method slips (噪因); ``desk.dispatch.normalize`` maps them to the words the training data
    uses, as it does for the knowledge base and dispatch. Each token keeps the span and the
    characters of what the citizen typed (the tracker keeps the message as it was sent), and
    its lemma, which the featurizers read, is the normalised word.
    """

    def tokenize(self, message: Message, attribute: Text) -> List[Token]:
        import jieba

        text = message.get(attribute) or ""
        tokens = [
            Token(typed, start, end, lemma=word)
            for word, typed, start, end in normalized_tokens(text, jieba.tokenize)
        ]
        return self._apply_token_pattern(tokens)
