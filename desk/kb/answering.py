"""Extractive answers: the sections of the chosen document that the question asks about."""

from __future__ import annotations

import datetime as dt
from typing import List, Pattern, Sequence

import numpy as np

from desk.kb.documents import Document, Section
from desk.kb.index import QueryFeatures, SearchIndex
from desk.kb.text import char_bigrams, normalize

NOT_FOUND = (
    "抱歉，知识库中没有找到能回答这个问题的政策信息。"
    "您可以回复“转人工”由人工客服为您解答，或提交咨询工单，我们会尽快答复您。"
)
# A heading the question's cue words point at ("带什么" -> 所需材料), or a section holding what
# they ask for ("多少天之内" -> a time: 离职之日起60日内 under 办理流程).
CUE_BONUS = 1.5
HEADING_BONUS = 1.0  # the question names the heading ("收费标准是多少")
SECOND_SECTION = 0.5  # quote a second section when it scores this close to the best one
SECTION_SIMILARITY = 10.0  # a section 0.1 below the best one in cosine gets no credit for it


def pick_sections(
    index: SearchIndex,
    position: int,
    features: QueryFeatures,
    question: str,
    cued_headings: Sequence[Sequence[str]],
    cued_contents: Sequence[Pattern[str]] = (),
) -> List[int]:
    """Indices (within the document) of the one or two sections to quote."""
    rows = index.sections_of(position)
    document = index.documents[position]
    lexical = index.section_focus(position, question)
    scores = lexical / lexical.max() if lexical.max() > 0 else np.zeros_like(lexical)
    similarity = features.section_similarity[rows]
    if similarity.any():
        scores = scores + np.clip(1.0 - SECTION_SIMILARITY * (similarity.max() - similarity), 0.0, None)
    asked = set(char_bigrams(normalize(question)))
    for i, section in enumerate(document.sections):
        if any(any(word in section.heading for word in headings) for headings in cued_headings) or any(
            content.search(section.text) for content in cued_contents
        ):
            scores[i] += CUE_BONUS
        heading = char_bigrams(normalize(section.heading))
        if heading:
            scores[i] += HEADING_BONUS * sum(g in asked for g in heading) / len(heading)
    order = [int(i) for i in np.argsort(-scores)]
    chosen = order[:1]
    if len(order) > 1 and scores[order[1]] >= SECOND_SECTION * scores[order[0]]:
        chosen.append(order[1])
    return sorted(chosen)


def compose(document: Document, sections: Sequence[int], today: dt.date) -> str:
    """ "根据《标题》：" and the quoted sections, word for word, plus a note on validity."""
    quoted: List[Section] = [document.sections[i] for i in sections]
    text = f"根据《{document.title}》：\n" + "\n".join(s.render() for s in quoted)
    note = validity_note(document, today)
    return f"{text}\n{note}" if note else text


def validity_note(document: Document, today: dt.date) -> str:
    meta = document.meta
    if meta.expires is not None and meta.expires < today:
        return f"（注：该文件有效期为{meta.effective.isoformat()}至{meta.expires.isoformat()}，现已失效。）"
    if meta.effective > today:
        return f"（注：该文件自{meta.effective.isoformat()}起施行。）"
    return ""
