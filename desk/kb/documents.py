"""Knowledge-base documents: Markdown with YAML front matter, parsed and validated.

A document looks like::

    ---
    id: kb-001-juzhuzheng
    title: 示范市居住证办理指南
    department: PSB
    category: general
    effective: 2025-03-01
    expires: null
    keywords: [居住证, 暂住证]
    ---
    ## 所需材料
    ...

Every problem is a `DocumentError` that names the file and the reason, so an admin
sees what to fix and the rest of the knowledge base keeps serving.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import yaml
from pydantic import BaseModel, Field, ValidationError, root_validator, validator

from desk import yamlfiles

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"
FILENAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,150}\.md$")
_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)(.*)\Z", re.S)
_HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t#]*$")
_YEAR_MARK = re.compile(r"[（(]?\s*(?:19|20)\d{2}\s*年?(?:度|版)?\s*[）)]?")


class _TextDates(yamlfiles.UniqueKeyLoader):
    """Leaves dates as text so that the schema, not the YAML parser, names a bad one."""


_TextDates.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class DocumentError(Exception):
    """A document that cannot be used; `file` and `reason` say which and why."""

    def __init__(self, file: str, reason: str) -> None:
        super().__init__(f"{file}: {reason}")
        self.file = file
        self.reason = reason

    def as_dict(self) -> Dict[str, str]:
        return {"file": self.file, "reason": self.reason}


class FrontMatter(BaseModel):
    """The YAML header of a document; unknown fields are rejected so typos surface."""

    id: str = Field(..., regex=ID_PATTERN)
    title: str = Field(..., min_length=1, max_length=200)
    department: str = Field(..., min_length=1, max_length=50)
    category: str = Field(..., min_length=1, max_length=50)
    effective: dt.date
    expires: Optional[dt.date] = None
    keywords: List[str] = []

    class Config:
        extra = "forbid"
        anystr_strip_whitespace = True

    @validator("effective", "expires", pre=True)
    def _iso_date(cls, value: Any) -> Any:
        # pydantic would read an integer as a Unix timestamp; only ISO dates are meant.
        if value is None or isinstance(value, dt.date):
            return value
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
            try:
                return dt.date.fromisoformat(value.strip())
            except ValueError:
                raise ValueError(f"'{value.strip()}' is not a valid date") from None
        raise ValueError("must be an ISO date (YYYY-MM-DD)")

    @validator("keywords", pre=True)
    def _keyword_list(cls, value: Any) -> Any:
        if value is None:
            return []
        if not isinstance(value, list):
            raise ValueError("must be a list")
        return [str(item) for item in value if str(item).strip()]

    @root_validator(skip_on_failure=True)
    def _expires_after_effective(cls, values: Dict[str, Any]) -> Dict[str, Any]:
        expires = values.get("expires")
        if expires is not None and expires < values["effective"]:
            raise ValueError("expires must not be earlier than effective")
        return values


@dataclass(frozen=True)
class Section:
    heading: str
    text: str

    def render(self) -> str:
        return f"【{self.heading}】\n{self.text}" if self.heading else self.text


@dataclass(frozen=True)
class Document:
    meta: FrontMatter
    sections: Tuple[Section, ...]
    filename: str = ""
    source: str = field(default="", repr=False)

    @property
    def id(self) -> str:
        return self.meta.id

    @property
    def title(self) -> str:
        return self.meta.title

    @cached_property
    def family(self) -> str:
        """Versions of one policy share a family: the title without its year marks (computed
        once: every question checks the families of all documents)."""
        return _YEAR_MARK.sub("", self.meta.title).strip()

    def in_force_on(self, day: dt.date) -> bool:
        expires = self.meta.expires
        return self.meta.effective <= day and (expires is None or day <= expires)

    def in_force_during(self, year: int) -> bool:
        expires = self.meta.expires
        return self.meta.effective.year <= year and (expires is None or expires.year >= year)

    def summary(self, today: dt.date) -> Dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "department": self.meta.department,
            "category": self.meta.category,
            "effective": self.meta.effective.isoformat(),
            "expires": self.meta.expires.isoformat() if self.meta.expires else None,
            "in_force": self.in_force_on(today),
            "file": self.filename,
        }


def parse_document(text: str, filename: str) -> Document:
    """Parses one document; raises `DocumentError` naming the file and the reason."""
    match = _FRONT_MATTER.match(text)
    if not match:
        raise DocumentError(filename, "missing YAML front matter between '---' lines at the top")
    try:
        # One line ahead for the opening '---', so that a reported line is the file's.
        header = yaml.load("\n" + match.group(1), Loader=_TextDates)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as exc:
        raise DocumentError(filename, f"front matter is not valid YAML: {_first_line(exc)}") from None
    if not isinstance(header, dict):
        raise DocumentError(filename, "front matter must be a YAML mapping")
    try:
        meta = FrontMatter.parse_obj(header)
    except ValidationError as exc:
        raise DocumentError(filename, _schema_reason(exc)) from None
    sections = split_sections(match.group(2))
    if not sections:
        raise DocumentError(filename, "the document has no text after the front matter")
    return Document(meta=meta, sections=tuple(sections), filename=filename, source=text)


def split_sections(body: str) -> List[Section]:
    """Cuts the Markdown body at headings; text before the first heading has none."""
    sections: List[Section] = []
    heading = ""
    lines: List[str] = []
    for line in body.splitlines():
        match = _HEADING.match(line.strip())
        if match:
            _append_section(sections, heading, lines)
            heading, lines = match.group(1).strip(), []
        else:
            lines.append(line.rstrip())
    _append_section(sections, heading, lines)
    return sections


def _append_section(sections: List[Section], heading: str, lines: List[str]) -> None:
    text = "\n".join(lines).strip()
    if text:
        sections.append(Section(heading, text))


def check_filename(filename: str) -> None:
    if not FILENAME.match(filename):
        raise DocumentError(filename, "file name must be letters, digits, '-', '_' or '.' and end in .md")


def find_duplicates(documents: Sequence[Document]) -> Tuple[List[Document], List[DocumentError]]:
    """Keeps the first document of each id (by file name); later ones become errors."""
    kept: Dict[str, Document] = {}
    errors: List[DocumentError] = []
    for document in sorted(documents, key=lambda d: d.filename):
        first = kept.get(document.id)
        if first is None:
            kept[document.id] = document
        else:
            reason = f"duplicate id '{document.id}' (already used by {first.filename})"
            errors.append(DocumentError(document.filename, reason))
    return list(kept.values()), errors


def markdown_files(directory: Path) -> Iterable[Path]:
    """The directory's documents: visible *.md files, not editor or upload temp files."""
    return [directory / name for name, _ in markdown_entries(directory)]


def markdown_entries(directory: Path) -> List[Tuple[str, os.stat_result]]:
    """The documents' file names with their stat, sorted by name, in one pass over the
    directory (a reload check on 10,000 files must stay cheap)."""
    try:
        entries = list(os.scandir(directory))
    except OSError:  # missing, not a directory, or unreadable
        return []
    found = []
    for entry in entries:
        if not entry.name.endswith(".md") or entry.name.startswith((".", "~")):
            continue
        try:
            if entry.is_file():
                found.append((entry.name, entry.stat()))
        except OSError:
            continue  # deleted between listing and stat
    return sorted(found, key=lambda item: item[0])


def _schema_reason(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"] if p != "__root__")
        parts.append(f"{where}: {error['msg']}" if where else error["msg"])
    return "; ".join(parts)


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
