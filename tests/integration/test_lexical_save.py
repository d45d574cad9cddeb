"""The BM25 cache under data_dir/lexical is shared by every process using that data dir (`honcho start -c web=2`):
processes saving it at once, and others loading it meanwhile, in real processes on a real index. A loader gets the
old index or the new one, whole (its ids and its BM25 matrix from the same save), never a mix or a broken one; the
last save stays; nothing is left beside it."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from knowledge.lexical import LexicalIndex

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
# Two indexes of different sizes, each chunk holding a word no other chunk has: a loader finding one chunk's word
# scored under another chunk's id, or an id past the matrix, has mixed two saves.
INDEXES = {
    "gen-old": {f"old-{i}": f"The {word} policy covers approved tools." for i, word in
                enumerate(["lanternwick", "quillfeather", "orchidwhistle"])},
    "gen-new": {f"new-{i}": f"The {word} guideline covers incident reports." for i, word in
                enumerate(["thistledown", "marrowbell", "cobblestar", "wrenfield", "saffronmoor"])},
}

CHILD = r"""
import json, sys
from pathlib import Path
from knowledge.lexical import LexicalIndex

role, directory, rounds, indexes = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), json.loads(sys.argv[4])
generations = sorted(indexes)
built = {g: LexicalIndex.build(list(chunks), list(chunks.values())) for g, chunks in indexes.items()}
print("ready", flush=True)
sys.stdin.readline()

def check(generation, index):
    expected = indexes[generation]
    assert index.ids == list(expected), (generation, index.ids)
    for cid, text in expected.items():
        hits = index.search(text.split()[1], 3)
        assert [h[0] for h in hits] == [cid], (generation, cid, hits)

seen = {g: 0 for g in generations}
for n in range(rounds):
    if role.startswith("writer"):
        generation = generations[(n + int(role[-1])) % 2]  # the writers take turns at opposite indexes
        built[generation].save(directory, generation)
    else:
        while True:  # one of the two is there, whole, unless a save swapped it between the two loads: look again
            found = [(g, i) for g in generations if (i := LexicalIndex.load(directory, g)) is not None]
            if found:
                break
        for generation, index in found:
            check(generation, index)
            seen[generation] += 1
print(json.dumps(seen), flush=True)
"""


def start(role: str, directory: Path, rounds: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", CHILD, role, str(directory), str(rounds), json.dumps(INDEXES)],
                            cwd=ROOT, text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def build(generation: str) -> LexicalIndex:
    chunks = INDEXES[generation]
    return LexicalIndex.build(list(chunks), list(chunks.values()))


def test_workers_saving_and_loading_at_once_only_ever_see_a_whole_index(tmp_path):
    directory = tmp_path / "lexical" / "rollout"
    build("gen-old").save(directory, "gen-old")  # what the workers find: the index before an ingest
    children = [start("writer0", directory, 40), start("writer1", directory, 40),
                start("reader", directory, 150), start("reader", directory, 150)]
    assert [child.stdout.readline() for child in children] == ["ready\n"] * 4
    for child in children:  # released together, once every one of them has imported and built its indexes
        child.stdin.write("go\n")
        child.stdin.flush()
    results = [child.communicate(timeout=300) for child in children]

    assert [child.returncode for child in children] == [0] * 4, [err for _, err in results]
    for out, _ in results[2:]:
        assert sum(json.loads(out).values()) >= 150  # each round found at least one whole index
    last = [g for g in INDEXES if LexicalIndex.load(directory, g) is not None]
    assert len(last) == 1
    assert sorted(p.name for p in directory.parent.iterdir()) == [".rollout.lock", "rollout"]  # nothing aside


def test_a_save_replaces_the_index_a_loader_holds_without_breaking_it(tmp_path):
    directory = tmp_path / "lexical" / "rollout"
    build("gen-old").save(directory, "gen-old")
    held = LexicalIndex.load(directory, "gen-old")

    build("gen-new").save(directory, "gen-new")

    assert [cid for cid, _ in held.search("quillfeather", 3)] == ["old-1"]  # its files were memory-mapped
    assert LexicalIndex.load(directory, "gen-old") is None
    assert [cid for cid, _ in LexicalIndex.load(directory, "gen-new").search("cobblestar", 3)] == ["new-2"]


def test_what_a_crashed_save_left_beside_the_index_is_removed_by_the_next(tmp_path):
    directory = tmp_path / "lexical" / "rollout"
    for leftover in (".rollout.staging-dead1", ".rollout.old-dead2"):
        (directory.parent / leftover / "bm25").mkdir(parents=True)

    build("gen-new").save(directory, "gen-new")

    assert sorted(p.name for p in directory.parent.iterdir()) == [".rollout.lock", "rollout"]
    assert LexicalIndex.load(directory, "gen-new").ids == list(INDEXES["gen-new"])
