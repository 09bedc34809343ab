"""A CSR fit whose dense form would not fit in memory stays within the package's memory model.

``asv_bench/benchmarks/bench_memory.py`` holds the data generator and the measurement (the
process's resident high-water mark, reset just before the fit); each case runs in a fresh
interpreter so that nothing else in the test session is counted.
"""

import subprocess
import sys
from pathlib import Path

import pytest

ASV_DIR = Path(__file__).resolve().parents[1] / "asv_bench"

# case -> the largest c allowed in  extra ≤ one copy of X + c · (m + n) · k · itemsize
# (measured with the default accelerate="auto", which extrapolates cd and starts newton-cd
# with over-relaxed MU on CSR, keeping about three more factor copies: cd/random 5.68,
# cd/nndsvda 7.18 -- the randomized SVD's workspace --, newton-cd-kl/random 4.86)
BOUNDS = {"cd/random": 7.0, "cd/nndsvda": 9.0, "newton-cd-kl/random": 6.0}

SCRIPT = """
import sys
sys.path.insert(0, {asv!r})
from benchmarks import bench_memory as bm
bm.FULL = True
if not bm._can_reset_peak():
    print("SKIP"); raise SystemExit
bench = bm.ScaleCSRFull()
bench.setup({case!r})
m, n = bench.X.shape
print(m, n, bm.csr_nbytes(bench.X), bench.track_factor_copies({case!r}))
"""


@pytest.mark.slow
@pytest.mark.parametrize("case", list(BOUNDS))
def test_csr_fit_at_scale_stays_within_the_memory_model(case):
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(asv=str(ASV_DIR), case=case)],
        capture_output=True, text=True, timeout=900,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    if run.stdout.strip() == "SKIP":
        pytest.skip("needs Linux's /proc/self/clear_refs to reset the peak resident size")
    m, n, x_bytes, copies = run.stdout.split()
    assert (int(m), int(n)) == (2_000_000, 200_000)
    dense_bytes = int(m) * int(n) * 8
    assert dense_bytes > 100 * int(x_bytes)  # dense X (3.2 TB) could never be held
    assert float(copies) <= BOUNDS[case], f"{case}: c = {float(copies):.2f}"
