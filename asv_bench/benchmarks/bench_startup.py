"""asv benchmarks: what a user pays before the first result, each in a fresh interpreter.

``timeraw_`` benchmarks return ``(code, setup)``: asv runs them in a new Python process and
times ``code`` only.

``Startup.timeraw_import``
    ``import nmf_numba`` (NumPy already imported).  scikit-learn is not imported here: the
    package loads it on first use.
``Startup.timeraw_first_fit_warm_cache``
    The first fits in a new process (a small dense ``cd`` fit and a small CSR KL ``mu`` fit,
    the default paths) when Numba's on-disk cache is warm: loading the compiled kernels, and
    importing scikit-learn.  ``setup`` warms the cache in a separate process.
``Startup.timeraw_first_fit_cold_compile``
    The same fits with the cache off (``NMF_NUMBA_CACHE=0``): the cold JIT compile.

``asv_bench/startup.py`` prints the same three numbers as a table.  Under
``NMF_NUMBA_BENCH_SMOKE=1`` (``tests/test_asv_smoke.py``) the cold benchmark keeps the cache on,
so that the smoke run does not spend a full compile.
"""

import os
import subprocess
import sys

_DATA = """
import numpy as np, scipy.sparse as sp
import nmf_numba as nn
X = np.random.default_rng(0).random((60, 40))
S = sp.random(60, 40, density=0.3, format="csr", random_state=0)
"""
_FITS = """
nn.nmf(X, 5, solver="cd", max_iter=5, tol=0)
nn.nmf(S, 5, solver="mu", beta_loss=1, max_iter=5, tol=0)
"""


def _smoke():
    return os.environ.get("NMF_NUMBA_BENCH_SMOKE", "") == "1"


class Startup:
    number = 1
    repeat = 3
    timeout = 600.0

    def setup(self):
        # fill the on-disk cache (the default location) for the warm-cache benchmark
        subprocess.run([sys.executable, "-c", _DATA + _FITS], check=True, capture_output=True)

    def timeraw_import(self):
        return "import nmf_numba", "import numpy"

    def timeraw_first_fit_warm_cache(self):
        return _FITS, _DATA

    def timeraw_first_fit_cold_compile(self):
        cache_off = "" if _smoke() else "import os\nos.environ['NMF_NUMBA_CACHE'] = '0'\n"
        return _FITS, cache_off + _DATA
