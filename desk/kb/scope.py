"""Whether the chosen document is about the thing a question asks about.

A near-topic question ("结婚证丢了怎么补办") shares its action words with a document about
something else (身份证丢失补领) and scores well on every other evidence. Words that name a
certificate, card, loan or vehicle (recognised by their last characters, `object_words` in
lexicon.yml) must therefore occur in the chosen document, as written or as one of the
documents' words the lexicon maps them to ("电动车" -> "电动自行车").
"""

from __future__ import annotations

from typing import List, Tuple

from desk.kb.text import Analyzer, normalize


class ObjectCheck:
    """Finds the objects a question names and those a document does not mention."""

    def __init__(self, analyzer: Analyzer) -> None:
        self.analyzer = analyzer
        words = analyzer.lexicon.object_words
        self._suffixes = tuple(sorted(words.suffixes, key=len, reverse=True))
        self._not_objects = words.action_prefixes
        self._modals = words.modal_prefixes

    def objects(self, question: str) -> List[Tuple[str, Tuple[str, ...]]]:
        """The object words of a question, each with the documents' words it may stand for."""
        text = normalize(question)
        lexicon = self.analyzer.lexicon
        variants = [m.group(0) for m in lexicon.pattern.finditer(text)]
        found: List[Tuple[str, Tuple[str, ...]]] = []
        for word in dict.fromkeys(self.analyzer.words(text)):
            if not self._is_object(word):
                continue
            # Only a variant that the word is part of stands for it: "社保卡" is not "社保".
            alternatives = tuple(a for v in variants if word in v for a in lexicon.expansions[v])
            found.append((word, alternatives))
        # "结婚证" and its part "婚证" name one thing: keep the longest of nested words.
        return [(w, a) for w, a in found if not any(w != o and w in o for o, _ in found)]

    def foreign(self, question: str, document_text: str) -> List[str]:
        """Objects of the question that `document_text` (normalised) does not mention."""
        return [
            word
            for word, alternatives in self.objects(question)
            if word not in document_text and not any(a in document_text for a in alternatives)
        ]

    def _is_object(self, word: str) -> bool:
        suffix = next((s for s in self._suffixes if word.endswith(s)), None)
        if suffix is None or len(word) <= len(suffix):
            return False
        stem = word[: -len(suffix)]
        # "补证", "换证", "辆车": an action or a measure word before the noun, not a new thing.
        return not (len(stem) == 1 and stem in self._not_objects) and stem[0] not in self._modals
