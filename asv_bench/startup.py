"""Import time, first-call (JIT compile) time and warm-call time, each in a fresh process.

    python asv_bench/startup.py

Measures the cost a user pays before the first result, with Numba's on-disk cache off
(``NMF_NUMBA_CACHE=0``) and on (the default; a cold run fills an empty cache directory, a warm
run reads it).  The "first call" fits a small dense matrix with cd and a small CSR matrix with
mu/KL, which compiles the kernels those paths use.
"""

import json
import os
import subprocess
import sys
import tempfile

_CHILD = r"""
import json, time
t0 = time.perf_counter()
import numpy as np, scipy.sparse as sp
import nmf_numba as nn
t1 = time.perf_counter()
X = np.random.default_rng(0).random((60, 40))
S = sp.random(60, 40, density=0.3, format="csr", random_state=0)
def calls():
    nn.nmf(X, 5, solver="cd", max_iter=5, tol=0)
    nn.nmf(S, 5, solver="mu", beta_loss=1, max_iter=5, tol=0)
calls()
t2 = time.perf_counter()
calls()
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "first_call": t2 - t1, "warm_call": t3 - t2}))
"""


def _run(env):
    out = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    base = {k: v for k, v in os.environ.items() if k not in ("NMF_NUMBA_CACHE", "NUMBA_CACHE_DIR")}
    rows = [("cache off (NMF_NUMBA_CACHE=0)", _run(dict(base, NMF_NUMBA_CACHE="0")))]
    with tempfile.TemporaryDirectory() as cache_dir:
        env = dict(base, NMF_NUMBA_CACHE="1", NUMBA_CACHE_DIR=cache_dir)
        rows.append(("cache on, cold (empty cache)", _run(env)))
        rows.append(("cache on, warm (every later run)", _run(env)))
    print(f"{'':32s} {'import':>8s} {'first call':>11s} {'warm call':>10s}")
    for label, r in rows:
        print(f"{label:32s} {r['import']:7.2f}s {r['first_call']:10.2f}s {r['warm_call']:9.3f}s")


if __name__ == "__main__":
    main()
