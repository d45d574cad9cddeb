"""Which precision the embedder encodes in, from the CPU's flags."""
from __future__ import annotations

import pytest

from knowledge.embeddings import precision_for

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

