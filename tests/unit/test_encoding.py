"""How the embedder encodes: in which precision (from the CPU's flags), and short texts packed into shared rows."""
from __future__ import annotations

import pytest

from knowledge.embeddings import _pack_rows, precision_for

EPYC = "processor\t: 0\nflags\t\t: fpu sse sse2 avx avx2 avx512f avx512_bf16 avx512_vnni\nbogomips\t: 4000\n"
SKYLAKE = "processor\t: 0\nflags\t\t: fpu sse sse2 avx avx2 avx512f avx512bw avx512_vnni\n"
SAPPHIRE_RAPIDS = "flags\t\t: avx512f amx_tile amx_bf16 amx_int8\n"


@pytest.mark.parametrize(("cpuinfo", "precision"), [
    (EPYC, "bfloat16"),
    (SAPPHIRE_RAPIDS, "bfloat16"),
    (SKYLAKE, "float32"),  # AVX-512 without bfloat16 instructions: emulated, slower
    ("processor\t: 0\nFeatures\t: fp asimd\n", "float32"),  # no x86 flags line at all
    ("", "float32"),
])
def test_bfloat16_only_where_the_cpu_multiplies_it_natively(cpuinfo, precision):
    assert precision_for(cpuinfo) == precision



# -- packing short texts into shared rows (knowledge.embeddings._pack_rows) ----------------------------------------
@pytest.mark.parametrize("lengths", [[5, 100, 30, 128, 200, 60, 60, 3], [2] * 300, [129, 128, 127, 1, 1], [], [7]])
def test_packed_rows_hold_every_text_once_within_the_row_budget(lengths):
    rows = _pack_rows(lengths, 128)

    assert sorted(i for row in rows for i in row) == list(range(len(lengths)))
    for row in rows:
        assert len(row) == 1 or sum(lengths[i] for i in row) <= 128  # only a text longer than a row has one alone


def test_short_texts_fill_rows_instead_of_one_row_each():
    assert len(_pack_rows([20] * 64, 128)) == 11  # six 20-token sentences a row, not 64 rows
