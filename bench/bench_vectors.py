"""One-pass sentence vectors against answer quality: why ingest encodes every chunk *and* every sentence.

Ingest embeds each chunk and each of its sentences on its own (twice the chunk-only encode work), which keeps ingest
at ~0.45x the raw encode rate of the chunk texts (target: 0.8x). This benchmark builds the dev corpus index once, then
rebuilds its vectors the cheaper ways and runs the dev evaluation on each:

  shipped     chunk and sentence vectors each encoded on their own (what ingest does)
  mean        chunk vector = normalised mean of its sentence vectors + 0.3 x its heading's vector (no chunk encode)
  late        sentence vector = mean of its tokens in the chunk's own pass (late chunking; no sentence encode)
  late-0.4    the same minus 0.4 x the chunk's mean token vector
  hybrid      late-0.4, but sentences of <= 16 tokens encoded on their own

For each: the abstention threshold refitted the way the shipped one was (middle of the widest gap between answerable
and unanswerable confidences at the best accuracy), the dev figures at that threshold, and the encode time of the
variant's work over the raw encode time of the chunk texts, measured in the same run.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench import RESULTS, ROOT, load_average, machine, save

CORPUS = ROOT.parent / "shared" / "corpus"
QUESTIONS = ROOT.parent / "shared" / "eval" / "dev.jsonl"
VARIANTS = ("shipped", "mean", "late", "late-0.4", "hybrid")
HEADING_WEIGHT = 0.3
SHORT_TOKENS = 16


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench vectors", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", choices=VARIANTS, help="run only this variant (repeatable)")
    parser.add_argument("--short", type=int, default=SHORT_TOKENS,
                        help=f"hybrid: encode sentences of at most this many tokens on their own ({SHORT_TOKENS})")
    args = parser.parse_args(argv)
    os.environ.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", ANONYMIZED_TELEMETRY="False",
                      TOKENIZERS_PARALLELISM="false")
    from knowledge.base import KnowledgeBase

    results = {"machine": machine(), "command": "python -m bench vectors " + " ".join(argv), "variants": {}}
    with tempfile.TemporaryDirectory(dir=RESULTS) as tmp:
        shipped = Path(tmp) / "shipped"
        print(f"[vectors] ingesting the dev corpus (load average {load_average()})", file=sys.stderr, flush=True)
        KnowledgeBase.open(shipped).ingest([CORPUS])
        for name in args.only or VARIANTS:
            raw = _raw_chunk_seconds(shipped)  # next to each variant's encode: the machine's speed drifts
            data_dir = shipped if name == "shipped" else Path(tmp) / name
            if name != "shipped":
                shutil.copytree(shipped, data_dir)
            seconds = _revector(data_dir, name, args.short)
            row = _evaluate(data_dir)
            row.update(encode_seconds=seconds, raw_chunk_seconds=raw, load_average=load_average())
            results["variants"][name] = row
            print(_render_row(name, row), flush=True)
    print(f"raw results: {save('vectors', results).relative_to(ROOT)}", file=sys.stderr)
    return 0


def _chunks(data_dir: Path):
    from knowledge.base import KnowledgeBase
    kb = KnowledgeBase.open(data_dir)
    ids = [cid for cid, _ in kb.index.all_metadata()]
    found = kb.index.get(ids, with_vectors=True)
    return kb, [(chunk, vector, chunk.sentences) for chunk, vector in found.values()]


def _raw_chunk_seconds(data_dir: Path) -> float:
    """Raw encode of every chunk's embedding text, as the ingest benchmark's baseline does it."""
    kb, chunks = _chunks(data_dir)
    model = kb.index.embedder.load()
    texts = [chunk.embedding_text for chunk, _, _ in chunks]
    model.encode(texts[:64], batch_size=32)
    started = time.perf_counter()
    model.encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
    return time.perf_counter() - started


def _revector(data_dir: Path, name: str, short_tokens: int) -> float:
    """Replace the index's vectors the variant's way; the encode seconds that way cost (shipped: both encodes)."""
    from knowledge.vectors import pack, unpack

    kb, chunks = _chunks(data_dir)
    model = kb.index.embedder.load()
    started = time.perf_counter()
    if name == "shipped":
        texts = [c.embedding_text for c, _, _ in chunks] + [s for _, _, ss in chunks for s in ss]
        model.encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
        return time.perf_counter() - started
    records, vectors = [], []
    if name == "mean":
        model.encode([s for _, _, ss in chunks for s in ss], batch_size=32, normalize_embeddings=True,
                     show_progress_bar=False)  # timed: this variant's only other encode (kept from the index below)
        headings = list(dict.fromkeys(_heading(c) for c, _, _ in chunks))
        heading_vectors = dict(zip(headings, model.encode(headings, batch_size=32, normalize_embeddings=True)))
        for chunk, _, sentences in chunks:
            stored = unpack(chunk.metadata.get("sentence_vectors", ""), 384)
            v = (stored.mean(0) if len(stored) else 0) + HEADING_WEIGHT * heading_vectors[_heading(chunk)]
            records.append(chunk)
            vectors.append(v / np.linalg.norm(v))
        seconds = time.perf_counter() - started
    else:
        lam = 0.0 if name == "late" else 0.4
        short = short_tokens if name == "hybrid" else 0
        texts = [c.embedding_text for c, _, _ in chunks]
        tokens = model.encode(texts, batch_size=32, output_value="token_embeddings", convert_to_numpy=False,
                              show_progress_bar=False)
        flat = [s for _, _, ss in chunks for s in ss]
        lengths = [len(ids) for ids in model.tokenizer(flat)["input_ids"]] if flat else []
        alone = [s for s, n in zip(flat, lengths) if n <= short]
        alone_vectors = dict(zip(alone, model.encode(alone, batch_size=32, normalize_embeddings=True,
                                                     show_progress_bar=False))) if alone else {}
        offsets = model.tokenizer(texts, return_offsets_mapping=True, truncation=True,
                                  max_length=model.max_seq_length)["offset_mapping"]
        for (chunk, vector, sentences), token_vectors, offs in zip(chunks, tokens, offsets):
            late = _late_sentence_vectors(chunk.embedding_text, sentences, token_vectors.numpy(), np.array(offs), lam)
            stored = unpack(chunk.metadata.get("sentence_vectors", ""), 384)
            rows = [alone_vectors[s] if s in alone_vectors else (v if v is not None else stored[k])
                    for k, (s, v) in enumerate(zip(sentences, late))]
            records.append(type(chunk)(chunk.id, chunk.text,
                                       dict(chunk.metadata, sentence_vectors=pack(np.vstack(rows)) if rows else "")))
            vectors.append(vector)
        seconds = time.perf_counter() - started
    kb.index.upsert(records, np.vstack(vectors).astype(np.float32))
    kb.index.bump_generation()
    kb.index.rebuild_lexical()
    return seconds


def _heading(chunk) -> str:
    from knowledge.chunking import SECTION_SEPARATOR

    title, section = chunk.metadata.get("title", ""), chunk.metadata.get("section")
    return title if not section else f"{title}{SECTION_SEPARATOR}{section}"


def _late_sentence_vectors(text: str, sentences: list[str], tokens: np.ndarray, offsets: np.ndarray, lam: float):
    """Each sentence's mean token vector from the chunk's pass (minus lam x the chunk's mean); None where not found."""
    chunk_mean = tokens.mean(0)
    out, pos = [], text.find("\n") + 1
    for sentence in sentences:
        start = text.find(sentence, pos)
        if start < 0:
            out.append(None)
            continue
        end = pos = start + len(sentence)
        inside = (offsets[:, 1] > offsets[:, 0]) & (offsets[:, 0] >= start) & (offsets[:, 1] <= end)
        if not inside.any():
            out.append(None)
            continue
        v = tokens[inside].mean(0) - lam * chunk_mean
        out.append(v / np.linalg.norm(v))
    return out


def _evaluate(data_dir: Path) -> dict:
    from knowledge.abstain import Abstention
    from knowledge.base import KnowledgeBase
    from knowledge.evaluate import evaluate, load_dataset

    questions = load_dataset(QUESTIONS)
    kb = KnowledgeBase.open(data_dir)
    first = evaluate(kb, questions)
    threshold = refit_threshold([(r.confidence, r.answerable) for r in first.results])
    kb.abstention = Abstention(threshold)
    report = evaluate(kb, questions)
    return {"threshold": threshold, "recall_at_1": report.recall_at_1, "recall_at_5": report.recall_at_5,
            "mrr_at_10": report.mrr_at_10, "abstention_accuracy": report.abstention_accuracy,
            "key_fact_coverage": report.key_fact_coverage}


def refit_threshold(confidences: list[tuple[float, bool]]) -> float:
    """The middle of the widest gap between neighbouring confidences among the thresholds of best accuracy."""
    values = sorted(c for c, _ in confidences)

    def accuracy(t: float) -> float:
        return sum((c >= t) == answerable for c, answerable in confidences) / len(confidences)

    cuts = [((values[i + 1] - values[i]), (values[i] + values[i + 1]) / 2) for i in range(len(values) - 1)]
    best = max(accuracy(t) for _, t in cuts)
    return max((gap, t) for gap, t in cuts if accuracy(t) == best)[1]


def _render_row(name: str, row: dict) -> str:
    ratio = row["raw_chunk_seconds"] / row["encode_seconds"] if row["encode_seconds"] else float("inf")
    return (f"| {name} | threshold {row['threshold']:.3f} | r@1 {row['recall_at_1']:.3f} / r@5 {row['recall_at_5']:.3f}"
            f" / MRR {row['mrr_at_10']:.3f} / abstention {row['abstention_accuracy']:.3f} / coverage "
            f"{row['key_fact_coverage']:.3f} | raw chunk encode ÷ variant encode {ratio:.2f}x "
            f"({row['raw_chunk_seconds']:.1f} s / {row['encode_seconds']:.1f} s) | load {row['load_average']} |")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
