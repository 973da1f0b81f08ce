"""Whether the chosen document is about the thing and the procedure a question asks about.

A near-topic question ("结婚证丢了怎么补办") shares its action words with a document about
something else (身份证丢失补领) and scores well on every other evidence. Three checks, each
evidence that a rule in confidence.yml weighs (never fitted):

- `foreign_object`: a word that names a certificate, card, loan or vehicle (recognised by its
  last characters, `object_words` in lexicon.yml) must occur in the chosen document, as
  written or as one of the documents' words the lexicon maps it to ("电动车" -> "电动自行车").
- `side_object`: such a thing that the document only mentions in passing (户口簿 as a material
  of the 身份证 document) does not make it the answer when the question asks about nothing
  else: the thing, or another word of the question, must be in its title or headings.
- `foreign_concept`: a word that some documents are about (it is in few documents' titles or
  keywords: 比例, 装修) or a procedure (`procedures` in lexicon.yml: 销户, 挂失)
  must occur in the chosen document: "公积金缴存比例" is not answered by 公积金租房提取.
  Both lists come from the corpus or are generic to hotlines, so they carry to other cities.
"""

from __future__ import annotations

import re
from typing import Dict, List, Optional, Sequence, Tuple

from desk.kb.index import SearchIndex
from desk.kb.ranking import RELATIVE_YEARS
from desk.kb.text import Analyzer, normalize

Named = Tuple[str, Tuple[str, ...]]  # a word of the question and the documents' words for it
CONCEPT_SHARE = 0.1  # a word in the titles or keywords of at most this share of documents ...
CONCEPT_MIN = 3  # ... is what those documents are about, not a generic word
NOUN_TAGS = ("n", "vn", "j", "eng", "x")  # jieba: nouns, verbal nouns, abbreviations, other
_ASPECT = ("了", "着", "过")  # after a one-character suffix, these make it a verb ("照了两寸的")
_SAYING = ("说", "讲")  # a clause reporting what someone said (`ScopeCheck._reported`)


class ObjectCheck:
    """Finds the objects a question names and those a document does not mention."""

    def __init__(self, analyzer: Analyzer) -> None:
        self.analyzer = analyzer
        words = analyzer.lexicon.object_words
        self._suffixes = tuple(sorted(words.suffixes, key=len, reverse=True))
        self._held = tuple(sorted(words.held, key=len, reverse=True))
        self._not_objects = words.action_prefixes
        self._modals = words.modal_prefixes
        self._stopwords = analyzer.lexicon.stopwords

    def objects(self, question: str) -> List[Named]:
        """The object words of a question, each with the documents' words it may stand for."""
        text = normalize(question)
        variants = self.analyzer.variants(text)
        cores = dict.fromkeys(self._core(w) for w in [*self.analyzer.words(text), *self._joined(text)])
        found = [(w, alternatives(self.analyzer, w, variants)) for w in cores if self._is_object(w)]
        # "新生儿医保卡" and its part "医保卡" name one thing: keep the longest of nested words,
        # which the parts (and the documents' words for them) may stand for.
        return [
            (w, tuple(dict.fromkeys(a + tuple(x for o, b in found if o != w and o in w for x in (o, *b)))))
            for w, a in found
            if not any(w != o and w in o for o, _ in found)
        ]

    def _joined(self, text: str) -> List[str]:
        """A word and the suffix segmented after it ("驾驶员" + "证", "商业" + "贷款利率"),
        with the word's own last part ("新生儿医保" + "卡": also "医保卡"), and a colloquial
        word with a held suffix after it ("低保" + "证"). A one-character
        suffix joins only alone, only for a held thing and not as a verb: "证据" is no 证,
        "压到" + "车" none, nor "照相馆" + "照了". Never across clauses: in "想换个大点的房子
        贷款最多能贷多少" the 房子 is no kind of 贷款."""
        joined = []
        for clause in self.analyzer.clauses(text):
            tokens = self.analyzer.tokens(clause)
            for a, b, after in zip(tokens, tokens[1:], [*tokens[2:], ""], strict=False):
                fits = [
                    s
                    for s in self._suffixes
                    if b.startswith(s) and (len(s) > 1 or b in self._held and not after.startswith(_ASPECT))
                ]
                suffix = fits[0] if fits else ""
                if suffix and len(a) >= 2 and _chinese(a):
                    ends = [p for p in self.analyzer.words(a) if a.endswith(p)]
                    joined += [p + suffix for p in dict.fromkeys([a, *ends])]
        # A colloquial word the segmenter split ("低保证" as 低 + 保证) still names its thing.
        for match in self.analyzer.lexicon.pattern.finditer(text):
            end, word = match.end(), match.group(0)
            held = next((h for h in self._held if text.startswith(h, end)), "")
            # Not "补办" + "证件": an action, or a suffix that starts a word of its own; nor
            # "照相馆" + "照了": a one-character suffix as a verb.
            if (
                held
                and word not in self.analyzer.lexicon.actions
                and not self.analyzer.is_word(text[end : end + 2])
                and not (len(held) == 1 and text.startswith(_ASPECT, end + 1))
            ):
                joined.append(word + held)
        return joined

    def foreign(self, question: str, document_text: str) -> List[str]:
        """Objects of the question that `document_text` (normalised) does not mention."""
        return [w for w, others in self.objects(question) if not self.mentions(document_text, w, others)]

    def mentions(self, text: str, word: str, others: Sequence[str]) -> bool:
        """Whether `text` names the thing: as written, as one of the documents' words for it,
        or with a word between its stem and its suffix ("实体卡" in "实体社保卡")."""
        if _mentions(text, word, others):
            return True
        suffix = self.suffix(word)
        stem = word[: -len(suffix)] if suffix else ""
        if len(stem) < 2:
            return False
        # "多孩家庭贷款额度": a word before a two-character suffix is its modifier, and a
        # document with both ("多子女家庭…贷款额度") names the thing.
        if len(suffix) >= 2 and stem in text and suffix in text:
            return True
        # "研究生证" where the document says "凭学生证（不含研究生）": the stem and a thing of
        # the same kind (its last character and the suffix) are both named.
        if len(suffix) == 1 and stem in text and stem[-1] + suffix in text:
            return True
        return re.search(f"{re.escape(stem)}.{{1,2}}{re.escape(suffix)}", text) is not None

    def suffix(self, word: str) -> str:
        return next((s for s in self._suffixes if word.endswith(s)), "")

    def held(self, word: str) -> bool:
        """Whether an object word names a thing a citizen holds (a certificate, a card)."""
        return word.endswith(self._held)

    def _core(self, word: str) -> str:
        """The thing without an action segmented onto it ("开无房证明" -> "无房证明")."""
        while (
            len(word) > 3
            and word[0] in self._not_objects
            and not self.analyzer.is_word(word[:2])  # "新生儿医保卡" keeps its 新
            and self._is_object(word[1:])
        ):
            word = word[1:]
        return word

    def _is_object(self, word: str) -> bool:
        suffix = next((s for s in self._suffixes if word.endswith(s)), None)
        if suffix is None or len(word) <= len(suffix):
            return False
        stem = word[: -len(suffix)]
        # "补证", "换证", "辆车": an action or a measure word before the noun, not a new thing;
        # nor "最多能贷", "什么证明" or "啥证明": a modal or a question word before the suffix.
        if len(stem) == 1 and stem in self._not_objects or len(stem) > 1 and stem in self._stopwords:
            return False
        # "今年贷款", "现在医保卡": a time before the noun, not a kind of it; nor an age or a
        # count ("九十岁津贴", but 年卡 is a card).
        tag = self.analyzer.tags(stem).get(stem, "")
        if tag.startswith("t") or len(stem) > 1 and tag.startswith("m"):
            return False
        # "交租金": an action before a word that names no thing of its own (租金, 租 + 金).
        rest = word[1:]
        if (
            len(stem) == 2
            and stem[0] in self._not_objects
            and self.analyzer.is_word(rest)
            and not self._is_object(rest)
        ):
            return False
        return stem[0] not in self._modals and stem[-1] not in self._modals


class ScopeCheck:
    """The scope evidence (`foreign_object`, `side_object`, `foreign_concept`) of a document."""

    def __init__(self, analyzer: Analyzer) -> None:
        self.analyzer = analyzer
        self.objects = ObjectCheck(analyzer)
        # Stop phrases whose parts are words of their own ("没关系": 关系), for `foreign_concepts`.
        self._stop_phrases = tuple(w for w in analyzer.lexicon.stopwords if len(w) > 2)

    def evidence(
        self, question: str, index: SearchIndex, position: int, asked: Optional[str] = None
    ) -> Dict[str, float]:
        """Judged on the clauses that ask (`asked`, computed unless given): "家里有辆旧面包车，
        还能申请低保不" asks about 低保, whatever vehicle the family has."""
        asked = self.asked(question) if asked is None else asked
        text = index.text(position)
        named = self.objects.objects(asked)
        present = [(w, a) for w, a in named if self.objects.mentions(text, w, a)]
        return {
            "foreign_object": float(len(present) < len(named)),
            "side_object": float(bool(self.side_objects(question, present, index, position))),
            "foreign_concept": float(
                bool(self.foreign_concepts(asked, index, position) or self.foreign_topics(question, text))
            ),
        }

    def foreign_topics(self, question: str, text: str) -> List[str]:
        """The lexicon's `topics` the question names anywhere that the document (its normalised
        `text`) never mentions."""
        said = normalize(question)
        return [t for t in sorted(self.analyzer.lexicon.topics) if t in said and t not in text]

    def asked(self, question: str) -> str:
        """The clauses that ask or say what the citizen wants ("想把老人送进公办养老院，咋排队"),
        and always the last one, with the clauses before them
        back to the nearest one that names something: "户口本弄丢了，咋补办" asks about
        户口本; in "下礼拜要去银行办贷款，身份证丢了，补办要带什么材料" the 贷款 is only
        why the citizen is in a hurry."""
        clauses = [self._reported(c) for c in self.analyzer.clauses(question)]
        if len(clauses) < 2:
            return " ".join(clauses)
        intents = self.analyzer.lexicon.intent_markers
        keep = {i for i, c in enumerate(clauses) if self.analyzer.asks(c) or c.startswith(intents)}
        keep.add(len(clauses) - 1)
        start = min(keep)
        while start > 0 and not self._names_something(" ".join(clauses[i] for i in sorted(keep))):
            start -= 1
            keep.add(start)
        # A topic said first ("房子装修的钱，可以用公积金付吗") is what the question asks about.
        if start > 0 and self._topic(clauses[start - 1]):
            keep.add(start - 1)
        return " ".join(clauses[i] for i in sorted(keep))

    def _reported(self, clause: str) -> str:
        """What a clause reports, without who said it: "物业说废电池也只能在规定时间扔" asks
        about 废电池, not 物业; so do "我同事说…" and "听邻居讲…". Not "物业费怎么说": too
        little is said after it."""
        tagged = self.analyzer.tagged(clause)
        said = next((i for i, (w, _) in enumerate(tagged[:4]) if w in _SAYING), None)
        if not said:
            return clause
        speaker = tagged[:said]
        rest = "".join(w for w, _ in tagged[said + 1 :])
        if (
            all(t.startswith(("n", "r")) or w == "听" for w, t in speaker)
            and any(t.startswith("n") and not t.startswith("nr") for _, t in speaker)
            and len(rest) >= 4
        ):
            return rest
        return clause

    def _topic(self, clause: str) -> bool:
        """A thing described alone: a phrase "…的 + noun" with no verb after its last 的 ("房子
        装修的钱", "孩子的学费"), that starts with no place, time, count, verb or 有 and names no
        people: not "身份证丢了", "在社区医院住院的", "2025年办的贷款", "有个代步的小车" or
        "低保家庭里的残疾人"."""
        tagged = self.analyzer.tagged(clause)
        words = [w for w, _ in tagged]
        if "的" not in words or tagged[0][1].startswith(("p", "v", "m", "t")) or words[0].startswith("有"):
            return False
        last, flag = tagged[-1]
        people = last.endswith("人") or last in self.analyzer.lexicon.people
        if not flag.startswith(("n", "j")) or flag.startswith("nr") or people:
            return False
        after = tagged[max(i for i, w in enumerate(words) if w == "的") + 1 :]
        return not any(t.startswith("v") and t != "vn" for _, t in after)

    def _names_something(self, text: str) -> bool:
        """Whether `text` names a thing: a noun that is not an action, a procedure ("咋转到
        这边来" asks for a transfer of something named before), a cue or a question word."""
        lexicon = self.analyzer.lexicon
        tags = self.analyzer.tags(text)

        def noun(word: str) -> bool:
            # "找谁说理" or "这也要罚款吗" names nothing; 交警 (an abbreviation), a word of the
            # documents (tagged x) or of the lexicon does.
            if word in lexicon.expansions:
                return True
            # A search-mode word across tokens ("换个": 换 + 个) is a noun if a token of it is.
            found = [tags[word]] if word in tags else [t for w, t in tags.items() if w in word]
            return not found or any(t.startswith(NOUN_TAGS) for t in found)

        return any(
            w not in lexicon.actions
            and w not in lexicon.vague
            and noun(w)
            and not self._procedure(w)
            and not self.analyzer.is_cue(w)
            and _chinese(w)
            and not any(m in w for m in lexicon.question_markers)  # "在哪"
            for w in self.analyzer.words(text)
        )

    def _procedure(self, word: str) -> bool:
        """A procedure, or a colloquial word for one ("转到" -> 转移接续)."""
        lexicon = self.analyzer.lexicon
        meant = lexicon.expansions.get(word, (word,))
        return any(p in m for m in meant for p in lexicon.procedures)

    def side_objects(
        self, question: str, named: Sequence[Named], index: SearchIndex, position: int
    ) -> List[str]:
        """Objects the document names only in passing, when the question asks about nothing
        else of the document: no other word of it is in the document's title, keywords or
        headings, or in a section that names the thing."""
        head, meta = index.head(position), index.documents[position].meta
        title, keywords = normalize(meta.title), " ".join(normalize(k) for k in meta.keywords)
        aside = [
            w
            for w, a in named
            if self.objects.held(w)
            and not _mentions(head, w, a)
            and not _same_kind(w, title)
            and not (_mentions(keywords, w, a) and self.objects.suffix(w) in title)
        ]
        if not aside or len(aside) < len(named):  # another thing it names is the document's own
            return []
        rest = normalize(question)
        for word, others in named:  # the thing's shortest form: "新生儿" stays in "新生儿医保卡"
            rest = rest.replace(min([o for o in (word, *others) if o in rest] or [word], key=len), " ")
        lexicon = self.analyzer.lexicon
        words = [
            w
            for w in self.analyzer.words(self.analyzer.expand(rest))
            if w not in lexicon.actions and not self.analyzer.is_cue(w)
        ]
        # What else the question asks is what the document is about, or what it says of the
        # thing ("准迁证…回老家": the section that issues it says 无需回原籍).
        head_words = index.head_words(position)
        sections = [
            t
            for t in (normalize(s.text) for s in index.documents[position].sections)
            if any(_mentions(t, w, a) for w, a in named if w in aside)
        ]
        covered = [w for w in words if w in head_words or w in head or any(w in t for t in sections)]
        return [] if covered else aside

    def foreign_concepts(self, question: str, index: SearchIndex, position: int) -> List[str]:
        """Words the question asks about that documents are about (or procedures), which the
        chosen document never mentions."""
        text = index.text(position)
        limit = max(CONCEPT_MIN, CONCEPT_SHARE * len(index.documents))
        lexicon = self.analyzer.lexicon
        frequency = index.topic_frequency

        def concept(word: str) -> bool:
            if len(word) < 2 or not _chinese(word) or word in lexicon.actions or word in RELATIVE_YEARS:
                return False
            # Whom a question is about (老人 in "我们社区有个老人…补交了居民医保") is not what
            # it asks: only a few documents name 老人 in their titles, the rest serve them too.
            if self.analyzer.is_cue(word) or word in lexicon.document_words or word in lexicon.people:
                return False
            return word in lexicon.procedures or 0 < frequency.get(word, 0) <= limit

        variants = self.analyzer.variants(question)
        said = normalize(question)
        # Nor a part of a stop phrase ("晚交几天也没关系吧" says nothing of 关系).
        phrases = [p for p in self._stop_phrases if p in said]
        written = [w for w in self.analyzer.words(question) if not any(w in p for p in phrases)]
        named = [(w, alternatives(self.analyzer, w, variants)) for w in dict.fromkeys(written) if concept(w)]
        # A compound counts by its parts: "医保缴费" is asked when 医保 and 缴费 are.
        named = [(w, a) for w, a in named if not any(o != w and o in w for o in written)]
        # A colloquial word counts when it stands for a procedure ("转出" -> "转移"), not for a
        # broad word ("孩子" -> "子女 儿童").
        named += [(v, lexicon.expansions[v]) for v in variants if self._procedure(v)]
        # A kind of answer only some documents give ("罚多少钱": a fine).
        named += [(group[0], group[1:]) for group in self.analyzer.required_cues(question)]
        # A procedure or concept however it is segmented ("起步价" as 起步 + 价).
        already = {w for w, _ in named}
        named += [(p, ()) for p in sorted(lexicon.procedures) if p in said and p not in already]
        return [w for w, a in named if not _mentions(text, w, a)]


def alternatives(analyzer: Analyzer, word: str, variants: Sequence[str]) -> Tuple[str, ...]:
    """The documents' words for `word`: only a variant that the word is part of stands for
    it ("社保卡" is not "社保"); and the word's own, where a longer variant took its place in
    the question ("外地户口" stands for 非本市户籍, and its 户口 for 户籍 still)."""
    expansions = analyzer.lexicon.expansions
    found = tuple(a for v in variants if word in v for a in expansions[v])
    return found + tuple(a for a in expansions.get(word, ()) if a not in found)


def _mentions(text: str, word: str, others: Sequence[str]) -> bool:
    return word in text or any(a in text for a in others)


def _same_kind(word: str, title: str) -> bool:
    """The title names the kind the thing is of ("养老保险" in a 社会保险 document)."""
    return len(word) >= 4 and word[-2:] in title


def _chinese(word: str) -> bool:
    return all("\u3400" <= ch <= "\u9fff" for ch in word)
