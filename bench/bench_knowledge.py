"""Knowledge engine benchmarks (issue 2, "Speed and memory"); each part prints a Markdown section for BENCHMARKS.md.

  ingest  Ingestor on the real corpus vs raw SentenceTransformer.encode of the same texts, in the same run
  warm    in-process `ask` latency at 10k chunks, with a per-step breakdown
  cold    `rollout ask` in a fresh process at 10k chunks, beside the floor: `python -c "import torch"`
  memory  peak RSS and warm latency of a fresh process asking 20 questions at 100k chunks (and at 10k)

Built indexes are cached under bench/results/ by corpus parameters, so only the first run pays for encoding.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench import (
    RESULTS,
    ROOT,
    Stopwatch,
    load_average,
    machine,
    peak_rss_mb,
    percentiles,
    profiler,
    save,
    write_profile,
)
from bench.corpus import CorpusSpec, encoded_index, random_vector_index

PARTS = ("ingest", "warm", "cold", "memory")
CORPUS = ROOT.parent / "shared" / "corpus"
QUESTIONS = ROOT.parent / "shared" / "eval" / "dev.jsonl"
MEMORY_QUESTIONS = 20
RAW_SAME = "raw encode of what ingest embeds (chunks + sentences + headings)"
RAW_CHUNKS = "raw encode of chunk texts only"
RAW_CHUNKS_BF16 = "raw encode of chunk texts only, in bfloat16 as ingest encodes here"
WHAT_IF = "(what-if, not a target) raw encode of "


def main(argv: list[str]) -> int:
    """Run the chosen parts (all by default) and print their results as Markdown."""
    args = _parser().parse_args(argv)
    os.environ.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", ANONYMIZED_TELEMETRY="False",
                      TOKENIZERS_PARALLELISM="false")
    if args.probe:
        print(json.dumps(memory_probe(Path(args.probe), args.questions)))
        return 0
    if args.render:
        results = json.loads(Path(args.render).read_text())
        print("\n\n".join(RENDER[part](results[part]) for part in PARTS if part in results))
        return 0
    results = {"machine": machine(), "command": "python -m bench knowledge " + " ".join(argv)}
    for part in args.only or PARTS:
        print(f"[{part}] running (load average {load_average()})", file=sys.stderr, flush=True)
        results[part] = RUNNERS[part](args)
        print(RENDER[part](results[part]) + "\n", flush=True)
    print(f"raw results: {save('knowledge', results).relative_to(ROOT)}", file=sys.stderr)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench knowledge", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", choices=PARTS, help="run only this part (repeatable)")
    parser.add_argument("--chunks", type=int, default=10_000, help="index size for warm and cold (default 10000)")
    parser.add_argument("--big-chunks", type=int, default=100_000, help="index size for memory (default 100000)")
    parser.add_argument("--passes", type=int, default=5, help="passes over the dev questions for warm (default 5)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the ingest comparison (default 3)")
    parser.add_argument("--profile", action="store_true", help="also write cProfile stats of warm asks and ingest")
    parser.add_argument("--rebuild", action="store_true", help="rebuild cached indexes")
    parser.add_argument("--render", metavar="JSON", help="print the Markdown of saved raw results, measuring nothing")
    parser.add_argument("--probe", help=argparse.SUPPRESS)  # child process of `memory`: a data dir
    parser.add_argument("--questions", type=int, default=MEMORY_QUESTIONS, help=argparse.SUPPRESS)
    return parser


# -- corpora and cached indexes ------------------------------------------------------------------------------------
def questions() -> list[str]:
    return [json.loads(line)["question"] for line in QUESTIONS.read_text().splitlines() if line.strip()]


# -- warm: in-process ask latency -----------------------------------------------------------------------------------
COMPARISON = "(not in ask, for comparison) "


def warm(args) -> dict:
    """p50/p95/p99 of `KnowledgeBase.ask` over passes of the dev questions, and where the time goes."""
    from knowledge.base import KnowledgeBase

    data_dir, built = encoded_index(CorpusSpec(CORPUS, args.chunks), args.rebuild)
    kb = KnowledgeBase.open(data_dir)
    asked = questions()
    for question in asked[:5]:  # model, lexical index and caches loaded before timing
        kb.ask(question)
    load_before, latencies, steps, mismatches = load_average(), [], Stopwatch(), 0
    profile = profiler(args.profile)
    for _ in range(args.passes):
        for question in asked:
            profile and profile.enable()
            started = time.perf_counter()
            answer = kb.ask(question)
            latencies.append((time.perf_counter() - started) * 1000)
            profile and profile.disable()
            mismatches += _timed_steps(kb, question, steps) != [s.path for s in answer.sources]
    write_profile(profile, "warm-ask")
    return {"index": built, "count": kb.index.count(), "questions": len(asked), "passes": args.passes,
            "latency_ms": percentiles(latencies), "load_average": [load_before, load_average()],
            "steps_ms": {step: percentiles(ms) for step, ms in steps.samples.items()},
            "breakdown_mismatches": mismatches}


def _langchain_store(index):
    """langchain-chroma's vector store over the index's collection, as retrieval read it before c111adf: only this
    comparison builds one (Rollout reaches Chroma through chromadb's client; the query needs no embedding function)."""
    from langchain_chroma import Chroma

    return Chroma(client=index._client, collection_name=index._name)  # noqa: SLF001  (the collection, not a copy)


def _timed_steps(kb, question: str, clock: Stopwatch) -> list[str]:
    """One question through the public steps `Retriever.retrieve` and `ask` take, each timed; the cited paths."""
    from knowledge.base import numbered_sources
    from knowledge.retrieve import Evidence

    index, retriever = kb.index, kb.retriever
    with clock("query embedding"):
        vector = index.embedder.encode_query(question)
    with clock("Chroma query k=30, ids+distances"):
        dense_ids = [cid for cid, _ in index.nearest_ids(vector, retriever.candidates)]
    with clock(COMPARISON + "langchain query k=30 with documents+metadata (before c111adf)"):
        _langchain_store(index).similarity_search_by_vector_with_relevance_scores(vector.tolist(),
                                                                                   k=retriever.candidates)
    with clock("lexical index generation check"):
        lexical = index.lexical()
    with clock("BM25 scores (all chunks)"):
        bm25 = lexical.scores(question)
    with clock("BM25 top-k"):
        lexical_ids = [cid for cid, _ in lexical.search(question, retriever.candidates, bm25)]
    with clock("candidate get (Chroma, with vectors)"):
        found = index.get(list(dict.fromkeys(dense_ids + lexical_ids)), with_vectors=True)
    with clock("scoring (sentence vectors unpacked)"):
        top = float(bm25.max()) if len(bm25) and bm25.max() > 0 else 1.0
        passages = sorted((retriever._score(chunk, vec, vector, lexical.score_of(bm25, cid) / top)
                           for cid, (chunk, vec) in found.items()), key=lambda p: p.score, reverse=True)
    with clock("answer (abstention + extractive)"):
        evidence = Evidence(question, question, passages, vector)
        sources = numbered_sources(evidence)
        if kb.abstention.answerable(evidence):
            kb.answerer.answer(question, evidence, sources)
    return [s.path for s in sources]


# -- cold: a fresh `rollout ask` process ----------------------------------------------------------------------------
COLD_TARGET_S = 3.0


def cold(args, runs: int = 3) -> dict:
    """Wall time from spawning `rollout ask "..."` to its printed answer, on the 10k index, `runs` times; each run
    beside a fresh `python -c "import torch"` (the floor of any process that loads the model with torch)."""
    data_dir, built = encoded_index(CorpusSpec(CORPUS, args.chunks), args.rebuild)
    env = dict(os.environ, ROLLOUT_DATA_DIR=str(data_dir), ROLLOUT_ANSWERER="extractive", CHROMA_URL="")
    rollout = str(Path(sys.executable).parent / "rollout")
    # The first run reads the model and the index from disk if other work pushed them out of the page cache (a 100k
    # index build does): it is reported, but the target is judged on the runs after it.
    first, *out = [dict(_cold_run(rollout, question, env), import_torch=_import_torch_s())
                   for question in questions()[:runs + 1]]
    return {"index": built, "page_cache_as_found": first, "runs": out, "phases": _cold_phases(data_dir, env)}


def _import_torch_s() -> dict:
    """Wall and CPU seconds of a fresh `python -c "import torch"`, process start to exit."""
    started, cpu = time.perf_counter(), _children_cpu()
    subprocess.run([sys.executable, "-c", "import torch"], check=True)
    return {"wall": round(time.perf_counter() - started, 2), "cpu": round(_children_cpu() - cpu, 2)}


def _children_cpu() -> float:
    """CPU seconds (user + system) of the child processes waited for so far: on a shared machine, less at the mercy
    of other work than wall time."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _cold_run(rollout: str, question: str, env: dict) -> dict:
    load, started, cpu = load_average(), time.perf_counter(), _children_cpu()
    process = subprocess.Popen([rollout, "ask", question], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=env, cwd=ROOT, text=True)
    first_line = process.stdout.readline()
    answered = time.perf_counter() - started
    rest, errors = process.communicate()
    return {"question": question, "first_line_s": round(answered, 2), "exit_s": round(time.perf_counter() - started, 2),
            "cpu_s": round(_children_cpu() - cpu, 2),
            "returncode": process.returncode, "load_average": load, "answer_start": first_line.strip()[:80],
            "stderr": errors[-300:]}


def _cold_phases(data_dir: Path, env: dict) -> dict:
    """Where a fresh process spends its time: imports, opening the knowledge base (model, Chroma), first ask."""
    script = (
        "import time, json; t0 = time.perf_counter()\n"
        "import bot.cli; from knowledge.base import KnowledgeBase; t1 = time.perf_counter()\n"
        f"kb = KnowledgeBase.open({str(data_dir)!r}); t2 = time.perf_counter()\n"
        "kb.ask('can I paste customer data into ChatGPT?'); t3 = time.perf_counter()\n"
        "print(json.dumps({'imports_s': t1 - t0, 'open_s': t2 - t1, 'first_ask_s': t3 - t2}))\n"
    )
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=ROOT)
    phases = json.loads(done.stdout.strip().splitlines()[-1])
    phases["interpreter_start_and_exit_s"] = time.perf_counter() - started - sum(phases.values())
    return {k: round(v, 2) for k, v in phases.items()}


# -- memory: a fresh process over a large index ---------------------------------------------------------------------
def memory(args) -> dict:
    """Peak RSS and warm latency of a fresh process asking questions, at 100k chunks (random vectors) and 10k."""
    out = {}
    for label, (data_dir, built) in (("big", random_vector_index(CorpusSpec(CORPUS, args.big_chunks), args.rebuild)),
                                     ("10k", encoded_index(CorpusSpec(CORPUS, args.chunks), args.rebuild))):
        command = [sys.executable, "-m", "bench", "knowledge", "--probe", str(data_dir),
                   "--questions", str(args.questions)]
        load = load_average()
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=True)
        out[label] = dict(json.loads(done.stdout.strip().splitlines()[-1]), index=built, load_average=load)
    return out


def memory_probe(data_dir: Path, count: int) -> dict:
    """In this (fresh) process: open the knowledge base, ask `count` questions, then list documents; RSS as we go."""
    from knowledge.base import KnowledgeBase

    rss = {"after_imports": peak_rss_mb()}
    kb = KnowledgeBase.open(data_dir)
    rss["after_open"] = peak_rss_mb()
    latencies, answered = [], 0
    for question in (questions() * 2)[:count]:
        started = time.perf_counter()
        answered += kb.ask(question).answered
        latencies.append((time.perf_counter() - started) * 1000)
    rss["peak_after_asks"] = peak_rss_mb()
    started = time.perf_counter()
    documents = len(kb.documents())
    rss["peak_after_documents"] = peak_rss_mb()
    return {"chunks": kb.index.count(), "rss_mb": rss, "first_ask_ms": latencies[0], "answered": answered,
            "warm_latency_ms": percentiles(latencies[1:]), "documents": documents,
            "documents_s": time.perf_counter() - started}


# -- ingest: Ingestor vs raw sentence-transformers ------------------------------------------------------------------
def ingest(args) -> dict:
    """Chunks/s of `KnowledgeBase.ingest` on the real corpus (fresh data dir) vs raw `encode` of the same chunks."""
    import torch
    from sentence_transformers import SentenceTransformer

    from knowledge.base import KnowledgeBase
    from knowledge.embeddings import BATCH_SIZE, default_model_path, shared_embedder

    chunk_texts, sentences, headings = _embedded_texts(CORPUS)
    model = SentenceTransformer(default_model_path(), device="cpu", local_files_only=True)
    kept = list(dict.fromkeys(s for s in sentences if len(s.split()) > 1))
    work = {
        "ingest": None,
        RAW_SAME: chunk_texts + sentences + headings,
        RAW_CHUNKS: chunk_texts,
        WHAT_IF + "chunks + distinct sentences of 2+ words": chunk_texts + kept,
    }
    bfloat16 = shared_embedder().precision == "bfloat16"
    if bfloat16:  # the target is against sentence-transformers as it ships (float32); this says how much is precision
        work[RAW_CHUNKS_BF16] = chunk_texts

    def run(label: str, data_dir: Path) -> None:
        if label == "ingest":
            summary = KnowledgeBase.open(data_dir).ingest([CORPUS])
            assert summary.chunks_total == len(chunk_texts), "the bench chunks the corpus differently from ingest"
        else:
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=label == RAW_CHUNKS_BF16):
                model.encode(work[label], batch_size=BATCH_SIZE, normalize_embeddings=True, show_progress_bar=False)

    model.encode(chunk_texts[:64])
    shared_embedder().encode(chunk_texts[:64])  # both models warm before anything is timed
    profile = profiler(args.profile)
    rounds, labels = [], list(work)
    for r in range(args.rounds):
        measured = {"load_average": load_average()}
        for label in labels[r % len(labels):] + labels[:r % len(labels)]:  # each round starts with another
            with tempfile.TemporaryDirectory(dir=RESULTS) as data_dir:
                profile and label == "ingest" and profile.enable()
                measured[label] = _seconds(lambda: run(label, Path(data_dir)))
                profile and profile.disable()
        rounds.append(measured)
    write_profile(profile, "ingest")
    return {"chunks": len(chunk_texts), "sentences": len(sentences), "distinct_sentences": len(set(sentences)),
            "kept_sentences": len(kept), "rounds": rounds, "raw_labels": labels[1:],
            "precision": shared_embedder().precision}


def _embedded_texts(corpus: Path) -> tuple[list[str], list[str], list[str]]:
    """Exactly the texts ingest embeds for a folder: every chunk's embedding text, every chunk's sentences, and each
    distinct heading chunks sit under."""
    from knowledge.chunking import DEFAULT_MAX_CHARS
    from knowledge.ingest import chunk_records, discover, file_hash
    from knowledge.loaders import load

    chunks = [record for source in discover([corpus], print)
              for record in chunk_records(source, load(source.origin),
                                          file_hash(source.origin.read_bytes(), DEFAULT_MAX_CHARS), DEFAULT_MAX_CHARS)]
    return ([c.embedding_text for c in chunks], [s for c in chunks for s in c.metadata["sentences"]],
            list(dict.fromkeys(c.own_heading for c in chunks)))


def _seconds(work) -> dict:
    """Wall seconds and this process's CPU seconds (all threads) of some work."""
    started, cpu = time.perf_counter(), time.process_time()
    work()
    return {"wall": time.perf_counter() - started, "cpu": time.process_time() - cpu}


# -- Markdown ---------------------------------------------------------------------------------------------------------
def _verdict(ok: bool) -> str:
    return "**pass**" if ok else "**FAIL**"


def render_ingest(result: dict) -> str:
    rounds, labels = result["rounds"], result["raw_labels"]
    lines = [f"### Ingest throughput: {result['chunks']} chunks of the real corpus, fresh data dir each time", "",
             f"Ingest embeds each chunk and each of its {result['sentences']} sentences "
             f"({result['distinct_sentences']} distinct; {result['kept_sentences']} distinct with 2+ words). "
             f"Ingest encodes in {result.get('precision', 'float32')} (knowledge.embeddings.native_precision); "
             "the raw encodes use sentence-transformers as it ships (float32) unless their label says otherwise. "
             "Seconds are wall / process CPU; each round runs them in a rotated order.", "",
             "| round | load avg | ingest | " + " | ".join(labels) + " |", "|---" * (3 + len(labels)) + "|"]
    for n, r in enumerate(rounds, 1):
        cells = [f"{r[label]['wall']:.1f} / {r[label]['cpu']:.1f}" for label in ["ingest", *labels]]
        lines.append(f"| {n} | {r['load_average']} | " + " | ".join(cells) + " |")
    lines += ["", "| ingest rate ÷ raw rate on the same chunks | median (wall) | median (CPU) | per round (wall) |",
              "|---|---|---|---|"]
    for label in (RAW_SAME, RAW_CHUNKS, RAW_CHUNKS_BF16):
        if label not in labels:
            continue
        wall = [r[label]["wall"] / r["ingest"]["wall"] for r in rounds]
        cpu = [r[label]["cpu"] / r["ingest"]["cpu"] for r in rounds]
        lines.append(f"| vs {label} | **{np.median(wall):.2f}×** ({_verdict(float(np.median(wall)) >= 0.8)} vs ≥ 0.8×) "
                     f"| {np.median(cpu):.2f}× | " + ", ".join(f"{x:.2f}" for x in wall) + " |")
    work = {label: np.median([r[label]["wall"] / r[RAW_CHUNKS]["wall"] for r in rounds]) for label in labels}
    lines += ["", "Encoding work relative to the chunk texts alone (median wall-time ratio): "
              + "; ".join(f"{label}: {ratio:.2f}×" for label, ratio in work.items() if label != RAW_CHUNKS) + "."]
    return "\n".join(lines)


def render_warm(result: dict) -> str:
    lat, steps = result["latency_ms"], result["steps_ms"]
    ok = lat["p50"] <= 40 and lat["p95"] <= 80
    lines = [f"### Warm `ask` at {result['count']:,} chunks ({result['questions']} dev questions × "
             f"{result['passes']} passes, load avg {result['load_average'][0]} → {result['load_average'][1]})", "",
             f"- latency: p50 **{lat['p50']:.1f} ms**, p95 **{lat['p95']:.1f} ms**, p99 {lat['p99']:.1f} ms, "
             f"mean {lat['mean']:.1f} ms (target p50 ≤ 40, p95 ≤ 80: {_verdict(ok)})", "",
             "| step (each timed separately, same questions) | p50 ms | p95 ms | mean ms |", "|---|---|---|---|"]
    for step, s in steps.items():
        lines.append(f"| {step} | {s['p50']:.2f} | {s['p95']:.2f} | {s['mean']:.2f} |")
    in_ask = sum(s["mean"] for step, s in steps.items() if not step.startswith(COMPARISON))
    lines.append(f"| sum of the steps in ask (mean) | | | {in_ask:.1f} |")
    if result["breakdown_mismatches"]:
        lines.append(f"\nWarning: the step-by-step path cited different sources than `ask` for "
                     f"{result['breakdown_mismatches']} questions; retrieve.py has changed, update the breakdown.")
    return "\n".join(lines)


def render_cold(result: dict) -> str:
    lines = [f"### Cold `rollout ask` at {result['index']['chunks']:,} chunks (fresh process, warm OS page cache)", "",
             "| run | load avg | answer printed s | process exit s | process CPU s | exit code "
             "| `python -c \"import torch\"` wall / CPU s |", "|---|---|---|---|---|---|---|"]
    for n, run in enumerate(result["runs"], 1):
        torch = run.get("import_torch") or {}
        lines.append(f"| {n} | {run['load_average']} | {run['first_line_s']:.2f} | {run['exit_s']:.2f} | "
                     f"{run.get('cpu_s', float('nan')):.2f} | {run['returncode']} | "
                     f"{torch.get('wall', float('nan')):.2f} / {torch.get('cpu', float('nan')):.2f} |")
    worst = max(run["first_line_s"] for run in result["runs"])
    exit_worst = max(run["exit_s"] for run in result["runs"])
    phases = ", ".join(f"{k} {v:.2f}" for k, v in result["phases"].items())
    lines += ["", f"- slowest answer printed after {worst:.2f} s (target ≤ {COLD_TARGET_S:.0f} s to the printed "
                  f"answer: {_verdict(worst <= COLD_TARGET_S)}); slowest exit {exit_worst:.2f} s"]
    if first := result.get("page_cache_as_found"):
        lines.append(f"- a run before these, with the page cache as the previous work left it (not counted): answer "
                     f"printed after {first['first_line_s']:.2f} s, exit {first['exit_s']:.2f} s")
    lines.append(f"- phases of a fresh process (separate run, s): {phases}")
    return "\n".join(lines)


def render_memory(result: dict) -> str:
    lines = ["### Memory: a fresh process opens the index and asks questions", "",
             "| index | load avg | RSS after imports MB | after open MB | peak after asks MB | warm ask p50 / p95 ms "
             "| peak after `documents()` MB |", "|---|---|---|---|---|---|---|"]
    for label, r in result.items():
        rss, lat = r["rss_mb"], r["warm_latency_ms"]
        kind = "random vectors" if label == "big" else "real embeddings"
        lines.append(f"| {r['chunks']:,} chunks ({kind}) | {r['load_average']} | {rss['after_imports']:.0f} | "
                     f"{rss['after_open']:.0f} | {rss['peak_after_asks']:.0f} | {lat['p50']:.1f} / {lat['p95']:.1f} "
                     f"| {rss['peak_after_documents']:.0f} |")
    big = result["big"]["rss_mb"]["peak_after_asks"]
    lines += ["", f"- peak RSS at {result['big']['chunks']:,} chunks: **{big:.0f} MB** "
                  f"(target ≤ 1024 MB: {_verdict(big <= 1024)})"]
    return "\n".join(lines)


RUNNERS = {"ingest": ingest, "warm": warm, "cold": cold, "memory": memory}
RENDER = {"ingest": render_ingest, "warm": render_warm, "cold": render_cold, "memory": render_memory}
