"""Dispatch examples: the city's labelled messages (train_*.yml, heldout_*.yml).

Each file maps a scenario code ("noise.renovation", or "none" for messages that are not
dispatched) to messages; a message may start with a request-type tag, "[report] ...".
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, List, Optional

import yaml

from desk.city.profile import CityProfile

NONE = "none"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: 10x faster on big files
_TAG = re.compile(r"^\s*\[(\w+)\]\s*")


class DatasetError(Exception):
    """A dispatch data file is malformed or names an unknown scenario or type."""


@dataclass(frozen=True)
class Example:
    text: str
    label: str  # "category.scenario" or NONE
    type: str


def load_examples(directory: Path, pattern: str, profile: CityProfile) -> List[Example]:
    """Loads every file matching ``pattern`` (e.g. "train_*.yml") under ``directory``."""
    examples: List[Example] = []
    for path in sorted(directory.glob(pattern)):
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER) or {}
        except yaml.YAMLError as exc:
            raise DatasetError(f"{path}: not valid YAML: {exc}") from None
        if not isinstance(data, dict):
            raise DatasetError(f"{path}: expected a mapping of scenario code to messages")
        for label, messages in data.items():
            examples.extend(_parse(path, str(label), messages or [], profile))
    return examples


def _parse(path: Path, label: str, messages: Iterable[object], profile: CityProfile) -> List[Example]:
    default_type = default_type_of(label, profile, path)
    parsed = []
    for message in messages:
        if not isinstance(message, str) or not message.strip():
            raise DatasetError(f"{path}: {label}: every message must be non-empty text")
        tag = _TAG.match(message)
        rtype = tag.group(1) if tag else default_type
        if rtype not in profile.request_types:
            raise DatasetError(f"{path}: {label}: unknown request type [{rtype}]")
        text = message[tag.end() :] if tag else message.strip()
        # A pure question is answered, not dispatched, whatever topic it is about.
        parsed.append(Example(text, NONE if rtype == "consult" else label, rtype))
    return parsed


def default_type_of(label: str, profile: CityProfile, path: Optional[Path] = None) -> str:
    if label == NONE:
        return "consult"
    category, _, scenario_code = label.partition(".")
    scenario = profile.scenario(category, scenario_code)
    if scenario is None:
        raise DatasetError(f"{path}: unknown scenario '{label}' (not in the city profile)")
    return "urgent" if scenario.urgent else "complaint"


def fingerprint(examples: Iterable[Example]) -> str:
    digest = hashlib.sha256()
    for example in examples:
        digest.update(f"{example.label}\t{example.type}\t{example.text}\n".encode())
    return digest.hexdigest()[:16]
