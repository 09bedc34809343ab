"""knn_graph before and after it moved to sklearn.neighbors, side by side: time and peak memory.

    git show 8825b31:nmf_numba/graph.py > /tmp/old_graph.py   # the former Numba search
    python asv_bench/knn_bench.py                              # KNN_BENCH_DIR=/tmp/knn_bench

The parent writes the inputs (the digits, a 50 000 × 100 dense and a 50 000 × 20 000 CSR
matrix at 0.1 %) and runs every case in a subprocess of its own.  Each child warms up on a
50-row slice (Numba compile, scikit-learn import), then times one call (the digits: best of
6); its peak memory is the growth of the resident set during the call and, in a second child,
tracemalloc's peak.  The last column says whether the two graphs have the same edges and
weights.
"""
import importlib.util, json, os, resource, subprocess, sys, time
import numpy as np, scipy.sparse as sp

SNAP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # this checkout
D = os.environ.get("KNN_BENCH_DIR", "/tmp/knn_bench")
OLD = os.environ.get("KNN_BENCH_OLD", "/tmp/old_graph.py")
CASES = ["digits", "dense50k", "csr50k"]


def make():
    from sklearn.datasets import load_digits
    np.save(f"{D}/digits.npy", load_digits().data)
    np.save(f"{D}/dense50k.npy", np.random.default_rng(0).random((50000, 100)))
    sp.save_npz(f"{D}/csr50k.npz", sp.random(50000, 20000, density=0.001, format="csr",
                                              random_state=0), compressed=False)


def child(impl, case, mode, weight):
    sys.path.insert(0, SNAP)
    import nmf_numba  # noqa: F401  (the package the old module imports from)
    if impl == "old":
        spec = importlib.util.spec_from_file_location("nmf_numba._old_graph", OLD)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = mod
        spec.loader.exec_module(mod)
        f = mod.knn_graph
    else:
        from nmf_numba.neighbors import knn_graph as f
    X = sp.load_npz(f"{D}/{case}.npz") if case.startswith("csr") else np.load(f"{D}/{case}.npy")
    f(X[:50], 5, weight)  # warm-up
    if mode == "tracemalloc":
        import tracemalloc
        tracemalloc.start()
    r0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    A = f(X, 5, weight)
    t = time.perf_counter() - t
    r1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = {"time": t, "rss_mb": (r1 - r0) / 1024}
    if case == "digits" and mode == "rss":  # small: best of 5 more calls
        for _ in range(5):
            t = time.perf_counter()
            f(X, 5, weight)
            out["time"] = min(out["time"], time.perf_counter() - t)
    if mode == "tracemalloc":
        out["trace_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
    else:
        sp.save_npz(f"{D}/out_{impl}_{case}_{weight}.npz", A, compressed=False)
    print(json.dumps(out))


def compare(case, weight):
    A = sp.load_npz(f"{D}/out_old_{case}_{weight}.npz")
    B = sp.load_npz(f"{D}/out_new_{case}_{weight}.npz")
    same_edges = (np.array_equal(A.indptr, B.indptr) and np.array_equal(A.indices, B.indices))
    if not same_edges:
        return f"edges differ: {(A != 0).astype(int).__ne__((B != 0).astype(int)).nnz} entries"
    rel = np.max(np.abs(A.data - B.data) / A.data) if A.nnz else 0.0
    return f"same edges ({A.nnz}); bits equal: {np.array_equal(A.data, B.data)}; max rel diff {rel:.1e}"


if __name__ == "__main__":
    if len(sys.argv) > 1:
        child(*sys.argv[1:])
        sys.exit()
    os.makedirs(D, exist_ok=True)
    if not os.path.exists(f"{D}/csr50k.npz"):
        make()
    import threadpoolctl, numba
    sys.path.insert(0, SNAP)
    from sklearn.neighbors import NearestNeighbors  # noqa: load sklearn's OpenMP
    print("numba threads", numba.config.NUMBA_NUM_THREADS,
          [(p["internal_api"], p["num_threads"]) for p in threadpoolctl.threadpool_info()])
    rows = []
    for case in CASES:
        weights = ["binary", "heat", "cosine"] if case == "digits" else ["binary"]
        for weight in weights:
            res = {}
            for impl in ("old", "new"):
                for mode in (("rss", "tracemalloc") if weight == "binary" else ("rss",)):
                    p = subprocess.run([sys.executable, __file__, impl, case, mode, weight],
                                       capture_output=True, text=True)
                    if p.returncode:
                        print(p.stderr)
                    res.setdefault(impl, {}).update(json.loads(p.stdout.strip().splitlines()[-1]))
            line = (f"| {case} | {weight} | {res['old']['time']:.2f} | {res['new']['time']:.2f} | "
                    f"{res['old']['rss_mb']:.0f} | {res['new']['rss_mb']:.0f} | "
                    f"{res['old'].get('trace_mb', float('nan')):.1f} | "
                    f"{res['new'].get('trace_mb', float('nan')):.1f} | {compare(case, weight)} |")
            print(line, flush=True)
