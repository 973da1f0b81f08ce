"""Rasa NLU training data under ``nlu_data/``: read every file, write reviewed changes back.

New examples go to ``nlu_data/reviewed/<intent>.yml`` (one file per intent, examples
sorted, so each change is a one-line diff); synonyms to ``reviewed/synonyms.yml`` and each
lookup table to ``reviewed/lookup_<name>.yml``. Examples in hand-written files are edited in
place, line by line, so comments and order survive. Generated files are never edited.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Tuple

import yaml

from desk.errors import Forbidden, InvalidInput, NotFound

REVIEWED = "reviewed"
GENERATED_MARK = "do not edit"  # the header of files written by scripts
_PLAIN = re.compile(r"^[\w\u4e00-\u9fff]+$")
NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_MARKUP = re.compile(r"\[(?P<text>[^\]]+)\](?:\((?P<entity>[^)]+)\)|(?P<json>\{[^}]*\}))")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
HEADER = "# Reviewed in desk's admin page (管理后台); written by desk/admin, sorted for readable diffs.\n"


@dataclass(frozen=True)
class Entity:
    start: int
    end: int
    entity: str
    value: Optional[str] = None

    def as_dict(self) -> Dict[str, object]:
        body: Dict[str, object] = {"start": self.start, "end": self.end, "entity": self.entity}
        if self.value:
            body["value"] = self.value
        return body


@dataclass(frozen=True)
class Example:
    intent: str
    text: str  # plain text, markup removed
    entities: Tuple[Entity, ...] = ()
    file: str = ""  # relative to the NLU data directory

    def markup(self) -> str:
        """The example as Rasa writes it: ``投诉[东湖街道](street)的噪音``."""
        out, last = [], 0
        for ent in sorted(self.entities, key=lambda e: e.start):
            span = self.text[ent.start : ent.end]
            out.append(self.text[last : ent.start])
            if ent.value and ent.value != span:
                out.append(
                    f"[{span}]" + json.dumps({"entity": ent.entity, "value": ent.value}, ensure_ascii=False)
                )
            else:
                out.append(f"[{span}]({ent.entity})")
            last = ent.end
        out.append(self.text[last:])
        return "".join(out)

    def as_dict(self) -> Dict[str, object]:
        return {
            "intent": self.intent,
            "text": self.text,
            "entities": [e.as_dict() for e in self.entities],
            "file": self.file,
        }


def parse_markup(line: str) -> Tuple[str, Tuple[Entity, ...]]:
    """Plain text and entities of one example line in Rasa's markup."""
    text, entities, last = [], [], 0
    position = 0
    for match in _MARKUP.finditer(line):
        text.append(line[last : match.start()])
        position += match.start() - last
        span = match.group("text")
        entity, value = match.group("entity"), None
        if match.group("json"):
            try:
                spec = json.loads(match.group("json"))
            except json.JSONDecodeError:
                spec = {}
            entity, value = spec.get("entity"), spec.get("value")
        elif entity and ":" in entity:
            entity, value = entity.split(":", 1)
        if entity:
            entities.append(Entity(position, position + len(span), str(entity), value))
        text.append(span)
        position += len(span)
        last = match.end()
    text.append(line[last:])
    return "".join(text), tuple(entities)


@dataclass
class NluData:
    """Everything under the NLU data directory, as the admin page edits it."""

    root: Path
    examples: List[Example] = field(default_factory=list)
    synonyms: Dict[str, List[str]] = field(default_factory=dict)
    lookups: Dict[str, List[str]] = field(default_factory=dict)
    generated: List[str] = field(default_factory=list)

    @classmethod
    def load(cls, root: Path) -> "NluData":
        data = cls(root=root)
        for path in sorted(root.rglob("*.yml")):
            data._read(path)
        return data

    def _read(self, path: Path) -> None:
        relative = str(path.relative_to(self.root))
        raw = path.read_text(encoding="utf-8")
        if GENERATED_MARK in raw.split("\n", 3)[0] or GENERATED_MARK in "".join(raw.splitlines()[:2]):
            self.generated.append(relative)
        for block in (yaml.load(raw, Loader=_LOADER) or {}).get("nlu") or []:
            lines = [_example_line(line) for line in str(block.get("examples", "")).splitlines()]
            items = [line for line in lines if line]
            if "intent" in block:
                for line in items:
                    text, entities = parse_markup(line)
                    self.examples.append(Example(str(block["intent"]), text, entities, relative))
            elif "synonym" in block:
                self.synonyms.setdefault(str(block["synonym"]), []).extend(items)
            elif "lookup" in block:
                self.lookups.setdefault(str(block["lookup"]), []).extend(items)

    def intents(self) -> List[str]:
        return sorted({e.intent for e in self.examples})

    def by_intent(self, intent: str) -> List[Example]:
        return [e for e in self.examples if e.intent == intent]

    def find(self, intent: str, text: str) -> Example:
        for example in self.examples:
            if example.intent == intent and example.text == text:
                return example
        raise NotFound(f"意图 {intent} 中没有例句「{text}」", {"intent": intent, "text": text})

    def is_generated(self, relative: str) -> bool:
        return relative in self.generated


def _example_line(line: str) -> str:
    stripped = line.strip()
    return stripped[2:].strip() if stripped.startswith("- ") else ""


def check_name(kind: str, name: str) -> str:
    if not NAME.match(name or ""):
        raise InvalidInput(f"{kind}名称只能用小写英文字母、数字和下划线", {"field": kind, "value": name})
    return name


class NluDataWriter:
    """Writes changes to the NLU data directory (blocking; call through ``asyncio.to_thread``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def reviewed_file(self, intent: str) -> Path:
        return self.root / REVIEWED / f"{check_name('意图', intent)}.yml"

    def add_example(self, example: Example) -> str:
        path = self.reviewed_file(example.intent)
        current = _read_block_examples(path, "intent", example.intent)
        current.append(example.markup())
        _write_blocks(path, "intent", {example.intent: current})
        return str(path.relative_to(self.root))

    def replace_example(self, old: Example, new: Optional[Example], data: NluData) -> str:
        """Edits (``new``) or removes (None) an example where it is; generated files are refused."""
        if data.is_generated(old.file):
            raise Forbidden(
                f"{old.file} 是脚本生成的文件，不能在这里修改；请修改它的来源数据",
                {"file": old.file},
            )
        path = self.root / old.file
        if old.file.startswith(REVIEWED + "/"):
            current = [line for line in _read_block_examples(path, "intent", old.intent)]
            current = [line for line in current if parse_markup(line)[0] != old.text]
            if new is not None:
                current.append(new.markup())
            _write_blocks(path, "intent", {old.intent: current})
        else:
            _edit_line_in_place(path, old, new)
        return old.file

    def set_synonym(self, value: str, examples: List[str]) -> str:
        return self._set_table(self.root / REVIEWED / "synonyms.yml", "synonym", value, examples)

    def set_lookup(self, name: str, examples: List[str]) -> str:
        path = self.root / REVIEWED / f"lookup_{check_name('查找表', name)}.yml"
        return self._set_table(path, "lookup", name, examples)

    def _set_table(self, path: Path, kind: str, name: str, examples: List[str]) -> str:
        blocks = _read_blocks(path, kind)
        cleaned = [e for e in examples if e]
        if cleaned:
            blocks[name] = cleaned
        else:
            blocks.pop(name, None)
        _write_blocks(path, kind, blocks)
        return str(path.relative_to(self.root))


def _read_blocks(path: Path, kind: str) -> Dict[str, List[str]]:
    if not path.exists():
        return {}
    blocks: Dict[str, List[str]] = {}
    for block in (yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER) or {}).get("nlu") or []:
        if kind in block:
            lines = [_example_line(line) for line in str(block.get("examples", "")).splitlines()]
            blocks.setdefault(str(block[kind]), []).extend(line for line in lines if line)
    return blocks


def _read_block_examples(path: Path, kind: str, name: str) -> List[str]:
    return _read_blocks(path, kind).get(name, [])


def _write_blocks(path: Path, kind: str, blocks: Mapping[str, Iterable[str]]) -> None:
    """Writes one canonical file: blocks by name, examples sorted and unique."""
    path.parent.mkdir(parents=True, exist_ok=True)
    out = [HEADER, 'version: "3.1"\n', "nlu:\n"]
    for name in sorted(blocks):
        examples = sorted(set(blocks[name]))
        if not examples:
            continue
        label = name if _PLAIN.match(name) else json.dumps(name, ensure_ascii=False)  # YAML-safe
        out.append(f"- {kind}: {label}\n  examples: |\n")
        out.extend(f"    - {line}\n" for line in examples)
    if len(out) == 3:
        path.unlink(missing_ok=True)
        return
    tmp = path.with_suffix(".yml.tmp")
    tmp.write_text("".join(out), encoding="utf-8")
    tmp.replace(path)


def _edit_line_in_place(path: Path, old: Example, new: Optional[Example]) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    block_intent: Optional[str] = None
    for index, line in enumerate(lines):
        header = re.match(r"^\s*-\s*intent:\s*(\S+)\s*$", line)
        if header:
            block_intent = header.group(1)
            continue
        if block_intent != old.intent or not _example_line(line):
            continue
        if parse_markup(_example_line(line))[0] == old.text:
            if new is None:
                del lines[index]
            else:
                indent = line[: len(line) - len(line.lstrip())]
                lines[index] = f"{indent}- {new.markup()}\n"
            path.write_text("".join(lines), encoding="utf-8")
            return
    raise NotFound(f"在 {path.name} 中没有找到例句「{old.text}」", {"file": path.name})
