"""Rasa NLU components of our own (referenced from config.yml as ``bot.nlu.<Class>``)."""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
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

MEDIA_PREFIXES = (PICTURE, LOCATION)  # how the channels pass a picture or a location
MEDIA_INTENT = "inform"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class SharedMediaClassifier(GraphComponent):
    """A picture or a shared location is an answer (``inform``), never a question.

    The statistical classifier sees a random upload name and port in "[图片] http://…/x.png"
    and once in a while called it ``ask_policy``, which sent a complaint's photo to the
    knowledge base. Placed last in the pipeline, this decides such messages by their prefix.
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
            if (message.get(TEXT) or "").lstrip().startswith(MEDIA_PREFIXES):
                intent = {INTENT_NAME_KEY: MEDIA_INTENT, PREDICTED_CONFIDENCE_KEY: 1.0}
                message.set(INTENT, intent, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [intent], add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
