"""Smoke test for the asv suite: every benchmark runs once, on shrunken shapes.

Speed is measured by asv (``asv_bench/``), never here; this only makes sure that a change to the
package cannot silently break a benchmark.  asv itself is not needed: the benchmark classes are
plain Python, and this test plays asv's part (setup, then each ``time_`` / ``peakmem_`` /
``track_`` method once, then teardown) for every parameter combination.
"""

import importlib
import inspect
import itertools
import math
import numbers
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

ASV_DIR = Path(__file__).resolve().parents[1] / "asv_bench"
PREFIXES = ("time_", "peakmem_", "track_", "mem_", "timeraw_")

if str(ASV_DIR) not in sys.path:
    sys.path.insert(0, str(ASV_DIR))

import benchmarks  # noqa: E402  (asv_bench/benchmarks)

MODULES = [
    importlib.import_module(f"benchmarks.{info.name}")
    for info in pkgutil.iter_modules(benchmarks.__path__)
]


def _param_grid(cls):
    """Every parameter combination, except that a ``size`` parameter keeps its first value:
    under SMOKE every size shrinks to a few rows, so the others would only repeat it."""
    params = getattr(cls, "params", [])
    if not params:
        return [()]
    if not isinstance(params[0], (list, tuple)):
        params = [params]  # asv's shorthand: a flat list of values for a single parameter
    names = list(getattr(cls, "param_names", []))
    if "size" in names:
        params = list(params)
        params[names.index("size")] = params[names.index("size")][:1]
    return list(itertools.product(*params))


def _bench_methods(cls):
    return sorted(name for name in dir(cls) if name.startswith(PREFIXES))


def _cases():
    for module in MODULES:
        for name, cls in vars(module).items():
            if (
                inspect.isclass(cls)
                and cls.__module__ == module.__name__
                and not name.startswith("_")
                and _bench_methods(cls)
            ):
                for params in _param_grid(cls):
                    yield pytest.param(
                        module, cls, params, id=f"{module.__name__}.{name}{list(params)}"
                    )


CASES = list(_cases())


def test_suite_is_not_empty():
    assert len(CASES) >= 5


@pytest.fixture(autouse=True)
def _smoke_shapes(monkeypatch):
    """Shrink every shape (the benchmark module reads SMOKE when setup runs)."""
    monkeypatch.setenv("NMF_NUMBA_BENCH_SMOKE", "1")
    for module in MODULES:
        if hasattr(module, "SMOKE"):
            monkeypatch.setattr(module, "SMOKE", True)


_CACHES = {}


def _setup_cache(cls):
    """asv's ``setup_cache``: once per class (here: per test session)."""
    if cls not in _CACHES:
        _CACHES[cls] = cls().setup_cache()
    return _CACHES[cls]


@pytest.mark.parametrize("module, cls, params", CASES)
def test_benchmark_runs_once(module, cls, params):
    names = getattr(cls, "param_names", None)
    if getattr(cls, "params", None):
        assert names is not None and len(names) == len(cls.params), "params/param_names mismatch"
    timeout = getattr(cls, "timeout", None)
    assert timeout is None or timeout > 0

    # asv runs setup_cache once per class and passes its result first to setup and methods
    cached = (_setup_cache(cls),) if hasattr(cls, "setup_cache") else ()
    for method in _bench_methods(cls):
        bench = cls()  # asv runs every benchmark method in a fresh instance
        if hasattr(bench, "setup"):
            try:
                bench.setup(*cached, *params)
            except NotImplementedError as exc:  # asv's way to skip a parameter combination
                pytest.skip(f"setup skips this combination: {exc}")
        try:
            result = getattr(bench, method)(*cached, *params)
        finally:
            if hasattr(bench, "teardown"):
                bench.teardown(*cached, *params)
        if method.startswith("timeraw_"):  # asv runs (code, setup) in a fresh interpreter
            code, setup = result if isinstance(result, tuple) else (result, "")
            run = subprocess.run([sys.executable, "-c", f"{setup}\n{code}"],
                                 capture_output=True, text=True, timeout=600)
            assert run.returncode == 0, run.stderr[-2000:]
        if method.startswith("track_"):
            assert isinstance(result, numbers.Real), f"{method} must return a number"
            assert math.isfinite(result), f"{method} returned {result}"


def test_real_cases_have_the_shape_of_their_data():
    """bench_tolerance's real-text cases state their data's shape (time_to_tol.py keeps it)."""
    from benchmarks import bench_tolerance as bt

    assert bt.REAL_CASES
    for name in bt.REAL_CASES:
        if bt.missing_data(name):
            continue  # e.g. gensim not installed: the asv classes skip the case too
        X = bt.make_matrix(name)
        assert X.shape == bt.CASES[name].shape, name
        assert X.format == "csr" and X.has_canonical_format and X.dtype == "float64"


def test_real_case_is_skipped_when_its_package_is_missing(monkeypatch):
    """asv must not fail without gensim: setup raises NotImplementedError (asv: skipped)."""
    import importlib.util

    from benchmarks import bench_tolerance as bt

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name == "gensim" else find_spec(name, *args))
    bt._corpus_counts.cache_clear()
    try:
        bench = type("LeeOnly", (bt.TimeToTolRealKL,), {"params": [["lee-counts-kl"],
                                                                   ["float64"], ["mu"]]})()
        results = bench.setup_cache()
        with pytest.raises(NotImplementedError, match="pip install gensim"):
            bench.setup(results, "lee-counts-kl", "float64", "mu")
    finally:
        bt._corpus_counts.cache_clear()  # the real data again for later tests


def test_sklearn_default_script_runs(capsys):
    """asv_bench/sklearn_default.py on the smallest real case: every row prints a result."""
    import numba
    import sklearn_default

    threads = numba.get_num_threads()
    try:
        sklearn_default.main(["--cases", "reuters-counts-kl", "--budget", "0.3", "--threads",
                              "1"])
    finally:
        numba.set_num_threads(threads)  # the script sets it for the process
    out = capsys.readouterr().out
    assert "scikit-learn mu, 200 iterations" in out
    rows = [line for line in out.splitlines() if "ends at" in line]
    assert [row.split()[0] for row in rows] == list(sklearn_default.LABELS)


def test_many_fits_sides_do_the_same_work():
    """bench_small.ManyFits compares like with like: on the smoke problems, ``nmf_many`` on the
    default threads and on one equals our loop bit for bit, and scikit-learn's loop ends at
    the same factors (same starts, or the same NNDSVDa with the same seeds); the 1-thread side
    restores Numba's thread count."""
    import numba
    import numpy as np

    from benchmarks import bench_small as bs

    p = bs.SMOKE_MANY_PROBLEMS
    threads = numba.get_num_threads()
    for case in bs.MANY_CASES:
        for dtype in bs.DTYPES:
            out = {side: bs.make_many_call(side, case, dtype, p, bs.SMOKE_MAX_ITER)()
                   for side in bs.MANY_SIDES}
            assert numba.get_num_threads() == threads
            W = out["nmf_many"].W
            assert W.shape == (p, bs.MANY_CASES[case].m, bs.MANY_CASES[case].k)
            assert W.dtype == dtype
            np.testing.assert_array_equal(out["nmf_many 1 thread"].W, W)
            np.testing.assert_array_equal(out["nmf_many 1 thread"].H, out["nmf_many"].H)
            np.testing.assert_array_equal(np.stack([r.W for r in out["nmf_numba loop"]]), W)
            np.testing.assert_array_equal(np.stack([r.H for r in out["nmf_numba loop"]]),
                                          out["nmf_many"].H)
            W_sk = np.stack([r[0] for r in out["sklearn loop"]])
            assert W_sk.dtype == dtype
            np.testing.assert_allclose(W_sk, W, rtol=0, atol=1e-5 * np.abs(W).max())
    Xs, W0s, H0s = bs.many_problem(next(iter(bs.MANY_CASES)), "float64")
    assert Xs.shape == (bs.MANY_CASES[next(iter(bs.MANY_CASES))].p, 64, 32)
    assert not (Xs.flags.writeable or W0s.flags.writeable or H0s.flags.writeable)


def test_compare_small_prints_every_case(capsys):
    """``compare.py --small --quick``: one row per bench_small case and dtype, with both ratios,
    then one row per many-fits case and dtype, with four times and three ratios."""
    import numba

    import compare
    from benchmarks import bench_small

    threads = numba.get_num_threads()
    try:
        compare.main(["--small", "--quick"])
    finally:
        numba.set_num_threads(threads)  # the script sets it for the process
    out = capsys.readouterr().out
    assert "threads: numba" in out and "CPU" in out
    rows = [line.split() for line in out.splitlines() if line.startswith(tuple(bench_small.CASES))]
    assert len(rows) == len(bench_small.CASES) * len(bench_small.DTYPES)
    for row in rows:  # ..., dtype, three times in ms, two ratios "1.23x"
        assert row[-6] in bench_small.DTYPES
        times = [float(v) for v in row[-5:-2]]
        ratios = [float(v.rstrip("x")) for v in row[-2:]]
        assert all(v > 0 and math.isfinite(v) for v in times + ratios)
    assert "many small fits" in out
    many = [line.split() for line in out.splitlines()
            if line.startswith(tuple(bench_small.MANY_CASES))]
    assert len(many) == len(bench_small.MANY_CASES) * len(bench_small.DTYPES)
    n_sides = len(bench_small.MANY_SIDES)
    for row in many:  # ..., dtype, four times in s (3 decimals), three ratios "1.23x"
        assert row[-(n_sides + 4)] in bench_small.DTYPES
        times = [float(v) for v in row[-(n_sides + 3):-3]]
        ratios = [float(v.rstrip("x")) for v in row[-3:]]
        assert all(v >= 0 and math.isfinite(v) for v in times)
        assert all(v > 0 and math.isfinite(v) for v in ratios)


def test_replicates_sides_do_the_same_work(monkeypatch):
    """bench_replicates compares like with like: the two consensus sides give the same result
    bit for bit, "one after another" never reaches the side-by-side path and restores
    ``batchable`` (also when the call fails), and the scikit-learn loop fits one W per seed
    that consensus reports."""
    import numpy as np

    from benchmarks import bench_replicates as br
    from nmf_numba import _compiled

    reason = br.missing_data()
    if reason is not None:
        pytest.skip(reason)
    n, k = br.SMOKE_N_RUNS, 2
    batchable = _compiled.batchable
    together = br.make_call("side by side", k, n)()
    np.testing.assert_array_equal(together.seeds, br.run_seeds(n))

    def no_batch(*args, **kwargs):
        raise AssertionError("one after another ran the fits side by side")

    with monkeypatch.context() as m:
        m.setattr(_compiled, "run_many", no_batch)
        apart = br.make_call("one after another", k, n)()
        assert _compiled.batchable is batchable
        with pytest.raises(ValueError):
            br.make_call("one after another", k, n, max_iter=-1)()
        assert _compiled.batchable is batchable
    for name in ("matrix", "losses", "seeds", "run_labels", "labels"):
        np.testing.assert_array_equal(getattr(apart, name), getattr(together, name))
    assert (apart.cophenetic, apart.dispersion) == (together.cophenetic, together.dispersion)
    Ws = br.make_call("sklearn loop", k, n)()
    assert len(Ws) == n and all(W.shape == (38, k) for W in Ws)
    assert not br.samples().flags.writeable


def test_compare_replicates_prints_every_side(capsys):
    """``compare.py --replicates --quick``: one row (k = 2, n_runs = SMOKE_N_RUNS), three
    times in seconds and two ratios; or the reason the data cannot be read."""
    import numba

    import compare
    from benchmarks import bench_replicates as br

    threads = numba.get_num_threads()
    try:
        compare.main(["--replicates", "--quick"])
    finally:
        numba.set_num_threads(threads)  # the script sets it for the process
    out = capsys.readouterr().out
    assert "threads: numba" in out and "CPU" in out
    reason = br.missing_data()
    if reason is not None:
        assert "replicates: skipped" in out
        pytest.skip(reason)
    assert f"n_runs={br.SMOKE_N_RUNS}" in out
    rows = [line.split() for line in out.splitlines() if line.split()[:1] == ["2"]]
    assert len(rows) == 1
    row = rows[0]
    assert len(row) == 1 + len(br.SIDES) + 2
    times = [float(v) for v in row[1:1 + len(br.SIDES)]]
    ratios = [float(v.rstrip("x")) for v in row[-2:]]
    assert all(v > 0 and math.isfinite(v) for v in times + ratios)
