"""Checks every change to the NLU data before it is accepted.

- the intent exists in the domain, the entity name is known, the text is not empty;
- the example is not already there, and not an example of another intent (a conflict);
- entity spans fall on the token boundaries of the bot's tokenizer (jieba's default dictionary
  over the normalised text, ``bot.nlu.NormalizingJiebaTokenizer``): an entity that starts or
  ends inside a word is never learnt, so it is refused with the words jieba sees;
- the rendered file parses with Rasa's own YAML reader (when Rasa is installed), and before
  training ``rasa data validate`` runs over the whole data (``desk.admin.training``).
"""

from __future__ import annotations

import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import yaml

from desk.admin.nlu_data import Entity, Example, NluData
from desk.dispatch.normalize import normalized_tokens
from desk.errors import InvalidInput

MAX_TEXT = 300


class ValidationFailed(InvalidInput):
    code = "validation_failed"


@dataclass(frozen=True)
class Problem:
    code: str
    message: str  # Chinese, for the admin
    details: Dict[str, Any]

    def as_dict(self) -> Dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.details}


def normalise(text: str) -> str:
    """What counts as the same example: case, width, runs of spaces and end punctuation ignored."""
    folded = " ".join(unicodedata.normalize("NFKC", text).lower().split())
    return folded.strip("".join(ch for ch in set(folded) if unicodedata.category(ch).startswith("P"))).strip()


class _Jieba:
    """A private jieba tokenizer with the default dictionary, like the bot's tokenizer.

    desk's dispatcher adds the city's words to jieba's global tokenizer; Rasa's process does
    not, so the boundaries are checked with a tokenizer of our own.
    """

    _lock = threading.Lock()
    _tokenizer: Any = None

    @classmethod
    def tokens(cls, text: str) -> List[Tuple[str, int, int]]:
        with cls._lock:
            if cls._tokenizer is None:
                import jieba

                jieba.setLogLevel(60)
                cls._tokenizer = jieba.Tokenizer()
            return list(cls._tokenizer.tokenize(text))


def jieba_tokens(text: str) -> List[Tuple[str, int, int]]:
    """The words the bot's tokenizer makes of ``text``, as typed, with their spans in it."""
    return [(typed, start, end) for _, typed, start, end in normalized_tokens(text, _Jieba.tokens)]


def check_token_boundaries(text: str, entities: Sequence[Entity]) -> List[Problem]:
    tokens = jieba_tokens(text)
    starts = {start for _, start, _ in tokens}
    ends = {end for _, _, end in tokens}
    problems = []
    for ent in entities:
        if ent.start in starts and ent.end in ends:
            continue
        around = [word for word, start, end in tokens if end > ent.start and start < ent.end]
        suggestion = "".join(around)
        problems.append(
            Problem(
                "entity_not_on_token_boundary",
                f"实体「{text[ent.start : ent.end]}」（{ent.entity}）的边界落在词语中间："
                f"结巴分词为「{' / '.join(around)}」。请把实体标注为「{suggestion}」，"
                "或在分词词典中加入这个词",
                {
                    "entity": ent.entity,
                    "span": text[ent.start : ent.end],
                    "tokens": around,
                    "suggestion": suggestion,
                },
            )
        )
    return problems


def check_example(
    data: NluData,
    example: Example,
    intents: Iterable[str],
    entity_names: Iterable[str],
    replacing: Optional[Example] = None,
) -> List[Problem]:
    """Problems of adding ``example`` (or of editing ``replacing`` into it)."""
    problems: List[Problem] = []
    text = example.text
    if not text.strip():
        return [Problem("empty_text", "例句不能为空", {})]
    if len(text) > MAX_TEXT or "\n" in text:
        problems.append(Problem("bad_text", f"例句须为一行，不超过 {MAX_TEXT} 字", {}))
    if example.intent not in set(intents):
        problems.append(
            Problem(
                "unknown_intent",
                f"意图 {example.intent} 不在对话领域（domain）中",
                {"intent": example.intent},
            )
        )
    problems.extend(_entity_problems(example, set(entity_names)))
    key = normalise(text)
    for other in data.examples if key else []:
        if replacing is not None and other.intent == replacing.intent and other.text == replacing.text:
            continue
        if normalise(other.text) != key:
            continue
        if other.intent == example.intent:
            problems.append(
                Problem(
                    "duplicate",
                    f"意图 {other.intent} 中已有相同的例句（{other.file}）",
                    {"intent": other.intent, "file": other.file, "text": other.text},
                )
            )
        else:
            problems.append(
                Problem(
                    "conflict",
                    f"冲突：相同的例句已标注为意图 {other.intent}（{other.file}），"
                    f"同一句话不能同时属于 {other.intent} 和 {example.intent}",
                    {"intent": other.intent, "file": other.file, "text": other.text},
                )
            )
    return problems


def _entity_problems(example: Example, entity_names: set) -> List[Problem]:
    problems: List[Problem] = []
    spans = sorted(example.entities, key=lambda e: e.start)
    for ent in spans:
        if not (0 <= ent.start < ent.end <= len(example.text)):
            problems.append(Problem("bad_span", f"实体 {ent.entity} 的位置超出了例句", ent.as_dict()))
            return problems
        if ent.entity not in entity_names:
            problems.append(
                Problem(
                    "unknown_entity",
                    f"实体类型 {ent.entity} 未定义（可用：{'、'.join(sorted(entity_names))}）",
                    {"entity": ent.entity},
                )
            )
    for first, second in zip(spans, spans[1:], strict=False):
        if second.start < first.end:
            problems.append(
                Problem(
                    "overlapping_entities", "两个实体的范围重叠", {"entities": [first.entity, second.entity]}
                )
            )
    if not problems:
        problems.extend(check_token_boundaries(example.text, spans))
    return problems


def check_dataset(data: NluData) -> List[Problem]:
    """Duplicates and conflicts across the whole NLU data (the CLI's and the trainer's check)."""
    seen: Dict[str, Example] = {}
    problems = []
    for example in data.examples:
        key = normalise(example.text)
        if not key:
            continue
        first = seen.setdefault(key, example)
        if first is example:
            continue
        code = "duplicate" if first.intent == example.intent else "conflict"
        where = f"{first.file}（{first.intent}）和 {example.file}（{example.intent}）"
        message = f"例句「{example.text}」重复：{where}"
        if code == "conflict":
            message = f"冲突：例句「{example.text}」同时属于两个意图：{where}"
        problems.append(
            Problem(
                code,
                message,
                {
                    "text": example.text,
                    "intents": [first.intent, example.intent],
                    "files": [first.file, example.file],
                },
            )
        )
    return problems


def check_rasa_format(example: Example) -> List[Problem]:
    """Parses the example as a one-example file with Rasa's own reader (skipped without Rasa)."""
    try:
        from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader
    except ImportError:
        return []
    document = yaml.safe_dump(
        {"version": "3.1", "nlu": [{"intent": example.intent, "examples": f"- {example.markup()}\n"}]},
        allow_unicode=True,
    )
    try:
        parsed = RasaYAMLReader().reads(document)
    except Exception as exc:  # Rasa raises its own YamlException / ValueError kinds
        return [Problem("rasa_format", f"Rasa 无法读取这个例句：{exc}", {})]
    if len(parsed.intent_examples) != 1 or parsed.intent_examples[0].get("text") != example.text:
        return [Problem("rasa_format", "Rasa 读出的例句与输入不一致，请检查方括号和圆括号", {})]
    return []


def raise_if_problems(problems: List[Problem]) -> None:
    if problems:
        raise ValidationFailed(
            "；".join(p.message for p in problems), {"problems": [p.as_dict() for p in problems]}
        )


def domain_names(domain_path: Path) -> Tuple[List[str], List[str]]:
    """Intents and entity names of the domain file (entities plus slot names)."""
    domain = yaml.safe_load(domain_path.read_text(encoding="utf-8")) or {}
    intents = [i if isinstance(i, str) else next(iter(i)) for i in domain.get("intents") or []]
    entities = [e if isinstance(e, str) else next(iter(e)) for e in domain.get("entities") or []]
    return intents, entities
