"""The compile options and the on-disk cache decision."""

import json
import os
import subprocess
import sys

import pytest

# The child fits twice on small dense data with Frobenius MU: once in the compiled small-problem
# loop (nmf_numba._compiled: the loop and the serial twins of the kernels, cached under their
# own names), once in the Python loop (nsNMF's smoothing is not compiled: the parallel kernels).
_CHILD = r"""
import json, numpy as np
import nmf_numba as nn
from nmf_numba import _compiled, _numba
from nmf_numba.kernels import dense
X = np.random.default_rng(0).random((30, 20))
res = nn.nmf(X, 3, solver="mu", max_iter=5, tol=0, random_state=0)
smooth = nn.nmf(X, 3, solver="mu", max_iter=5, tol=0, random_state=0, smoothness=0.2)
stats = [k.stats.cache_hits for k in (dense.sum_sq_serial, _compiled.iterate, dense.mu_apply)]
print(json.dumps({"cache": _numba.CACHE, "hits": [sum(s.values()) for s in stats],
                  "W": res.W.ravel().tolist() + smooth.W.ravel().tolist()}))
"""


def _run(env):
    out = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture
def clean_env(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("NMF_NUMBA_CACHE", "NUMBA_CACHE_DIR")}
    return env


def test_options_have_no_unsafe_fastmath():
    from nmf_numba._numba import PARALLEL, SERIAL

    for opts in (PARALLEL, SERIAL):
        assert not {"nnan", "ninf", "fast"} & set(opts["fastmath"])
    assert PARALLEL["parallel"] and "parallel" not in SERIAL


def test_cache_can_be_switched_off(clean_env):
    result = _run(dict(clean_env, NMF_NUMBA_CACHE="0"))
    assert result["cache"] is False and result["hits"] == [0, 0, 0]


def test_cache_is_reused_by_a_second_process_with_identical_results(clean_env, tmp_path):
    """With a writable cache dir, a second process loads the kernels instead of compiling."""
    env = dict(clean_env, NUMBA_CACHE_DIR=str(tmp_path))
    first = _run(env)
    second = _run(env)
    assert first["cache"] is True and second["cache"] is True
    assert all(hits >= 1 for hits in second["hits"])
    assert first["W"] == second["W"]


def test_import_does_not_load_scikit_learn():
    """``import nmf_numba`` stays fast: scikit-learn (about a second to import) and the
    estimators built on it load on first use; ``nn.NMF`` still works."""
    import subprocess
    import sys

    code = ("import sys, nmf_numba as nn; assert 'sklearn' not in sys.modules, 'sklearn loaded'; "
            "assert nn.NMF.__module__ == 'nmf_numba.estimators'; assert 'NMF' in dir(nn)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
