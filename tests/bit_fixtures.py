"""Fingerprints of a fixed set of fits, to show that a refactoring changes no bits.

Run it before a change and after it, on the same machine, and compare::

    python tests/bit_fixtures.py save before.json     # with the old code
    python tests/bit_fixtures.py compare before.json  # with the new code: lists every difference

Each case records a SHA-256 of every array the call returns (W, H, components_, ...) and the
exact floats and ints it reports (loss, n_iter, stop reason, the history but its clock).  The hashes depend on the BLAS and
the CPU, so the saved file is only meaningful on the machine that wrote it: this is a tool for a
refactoring, not a test that runs in CI.
"""

import hashlib
import json
import sys
import warnings

import numpy as np
import scipy.sparse as sp


def _digest(value):
    if sp.issparse(value):
        value = value.tocsr()
        return {"data": _digest(value.data), "indices": _digest(value.indices),
                "indptr": _digest(value.indptr), "shape": list(value.shape)}
    if hasattr(value, "compute"):  # a Dask array
        value = value.compute()
    if isinstance(value, np.ndarray):
        arr = np.ascontiguousarray(value)
        return f"{arr.dtype}{arr.shape}:" + hashlib.sha256(arr.tobytes()).hexdigest()[:24]
    if isinstance(value, (float, np.floating)):
        return float(value).hex()
    if isinstance(value, (bool, np.bool_, int, np.integer, str)) or value is None:
        return value if not isinstance(value, np.generic) else value.item()
    if isinstance(value, dict):
        return {str(k): _digest(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_digest(v) for v in value]
    raise TypeError(type(value))


def _result(res):
    return {"W": _digest(res.W), "H": _digest(res.H), "n_iter": res.n_iter,
            "stop": res.stop_reason, "loss": _digest(res.loss),
            "data_loss": _digest(res.data_loss),
            "history": _digest({k: v for k, v in res.history.items() if k != "time"}),
            "solver": res.solver, "run_losses": _digest(res.run_losses)}


def _data():
    rng = np.random.default_rng(7)
    X = rng.random((40, 8)) @ rng.random((8, 30)) + 0.01 * rng.random((40, 30))
    Xs = sp.random(60, 45, density=0.2, random_state=3, format="csr") * 3.0
    return X, Xs


def cases():
    """``{name: thunk}``: every solver × dense/CSR × β ∈ {2, 1, 0.5} with penalties, graph,
    smoothness and a mask, the estimators, transform, the analyses and one Dask fit."""
    import nmf_numba as nn

    X, Xs = _data()
    out = {}
    solver_betas = {"mu": (2, 1, 0.5), "cd": (2,), "hals": (2,), "anls": (2,), "pgd": (2,),
                    "newton-cd": (1,)}
    for solver, betas in solver_betas.items():
        for fmt, data in (("dense", X), ("csr", Xs)):
            for beta in betas:
                base = dict(beta_loss=beta, solver=solver, max_iter=30, random_state=0)
                name = f"{solver}-{fmt}-b{beta}"
                out[name] = lambda d=data, b=base: _result(nn.nmf(d, 4, **b))
                out[name + "-f32"] = lambda d=data, b=base: _result(
                    nn.nmf(d.astype(np.float32), 4, **b))
                out[name + "-pen"] = lambda d=data, b=base: _result(
                    nn.nmf(d, 4, alpha_W=0.01, l1_ratio=0.5, **b))
                out[name + "-smooth"] = lambda d=data, b=base: _result(
                    nn.nmf(d, 4, smoothness=0.3, **b))
                out[name + "-pgrad"] = lambda d=data, b=base: _result(
                    nn.nmf(d, 4, stop="pgrad", tol=1e-3, **b))
                out[name + "-sklearn-stop"] = lambda d=data, b=base: _result(
                    nn.nmf(d, 4, stop="sklearn", **b))
    mask = np.random.default_rng(1).random(X.shape) > 0.3
    for solver, beta in (("mu", 2), ("mu", 1), ("mu", 0.5), ("cd", 2), ("hals", 2)):
        out[f"mask-{solver}-b{beta}"] = lambda s=solver, b=beta: _result(
            nn.nmf(X, 3, solver=s, beta_loss=b, mask=mask, max_iter=30, random_state=0))
        out[f"unobserved-{solver}-b{beta}"] = lambda s=solver, b=beta: _result(
            nn.nmf(Xs, 3, solver=s, beta_loss=b, missing="unobserved", max_iter=30,
                   random_state=0))
    A = nn.knn_graph(X, n_neighbors=4)
    out["knn-binary"] = lambda: _digest(nn.knn_graph(X, n_neighbors=4))
    out["knn-heat"] = lambda: _digest(nn.knn_graph(X, n_neighbors=4, weight="heat"))
    out["knn-cosine-csr"] = lambda: _digest(nn.knn_graph(Xs, n_neighbors=4, weight="cosine"))
    for solver, beta in (("mu", 2), ("mu", 1), ("cd", 2), ("hals", 2)):
        out[f"graph-{solver}-b{beta}"] = lambda s=solver, b=beta: _result(
            nn.nmf(X, 3, solver=s, beta_loss=b, graph=A, graph_reg=0.5, max_iter=30,
                   random_state=0))
    out["auto-dense"] = lambda: _result(nn.nmf(X, 4, random_state=0))
    out["auto-csr-kl"] = lambda: _result(nn.nmf(Xs, 4, beta_loss=1, random_state=0))
    out["n_init"] = lambda: _result(nn.nmf(X, 4, n_init=3, random_state=0, max_iter=30))
    out["shuffle"] = lambda: _result(nn.nmf(X, 4, solver="cd", shuffle=True, random_state=0,
                                            max_iter=30))
    out["init-random"] = lambda: _result(nn.nmf(Xs, 4, init="random", random_state=5,
                                                max_iter=30))
    out["init-nndsvdar"] = lambda: _result(nn.nmf(X, 4, init="nndsvdar", random_state=5,
                                                  max_iter=30))
    for solver, beta in (("auto", 2), ("auto", 1), ("mu", 0.5), ("cd", 2), ("pgd", 2)):
        out[f"transform-{solver}-b{beta}"] = lambda s=solver, b=beta: _digest(nn.transform(
            X, nn.nmf(X, 4, beta_loss=b, max_iter=20, random_state=0).H, beta_loss=b, solver=s))
    out["transform-mask"] = lambda: _digest(nn.transform(
        X, nn.nmf(X, 4, max_iter=20, random_state=0).H, mask=mask))

    def est_nmf(**kw):
        est = nn.NMF(4, random_state=0, max_iter=50, **kw)
        W = est.fit_transform(X)
        return {"W": _digest(W), "H": _digest(est.components_), "n_iter": est.n_iter_,
                "err": _digest(est.reconstruction_err_), "T": _digest(est.transform(X))}

    out["NMF-cd"] = lambda: est_nmf()
    out["NMF-cd-shuffle"] = lambda: est_nmf(shuffle=True)
    out["NMF-mu-kl"] = lambda: est_nmf(solver="mu", beta_loss="kullback-leibler")
    out["NMF-mu-pen"] = lambda: est_nmf(solver="mu", alpha_W=0.01, l1_ratio=0.3)
    out["NMF-hals-csr"] = lambda: {"W": _digest(nn.NMF(4, solver="hals", random_state=0)
                                                .fit_transform(Xs))}

    def est_minibatch(**kw):
        est = nn.MiniBatchNMF(4, random_state=0, batch_size=16, max_iter=20, **kw)
        W = est.fit_transform(X)
        est2 = nn.MiniBatchNMF(4, random_state=0, batch_size=16, **kw)
        for start in range(0, 40, 16):
            est2.partial_fit(X[start:start + 16])
        return {"W": _digest(W), "H": _digest(est.components_), "n_iter": est.n_iter_,
                "n_steps": est.n_steps_, "partial": _digest(est2.components_),
                "T": _digest(est.transform(X))}

    out["MiniBatchNMF"] = lambda: est_minibatch()
    out["MiniBatchNMF-kl"] = lambda: est_minibatch(beta_loss=1)
    out["MiniBatchNMF-fresh"] = lambda: est_minibatch(fresh_restarts=True)
    out["consensus"] = lambda: _digest(nn.consensus(X, 3, n_runs=4, random_state=0).matrix)
    out["select_rank"] = lambda: _digest(nn.select_rank(X, [2, 3], n_folds=2,
                                                         random_state=0).table)

    def dask_fit(solver, beta):
        import dask
        import dask.array as da
        with dask.config.set(scheduler="synchronous"):
            res = nn.nmf(da.from_array(X, chunks=(15, 30)), 4, solver=solver, beta_loss=beta,
                         max_iter=25, random_state=0, init="random")
            return _result(res)

    for solver, beta in (("mu", 2), ("mu", 1), ("cd", 2), ("hals", 2)):
        out[f"dask-{solver}-b{beta}"] = lambda s=solver, b=beta: dask_fit(s, b)
    return out


def run():
    results = {}
    for name, thunk in cases().items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                results[name] = thunk()
            except Exception as err:  # a case the code rejects is a fingerprint too
                results[name] = {"error": f"{type(err).__name__}: {err}"}
    return results


def _diff(before, after, path=""):
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after)):
            yield from _diff(before.get(key), after.get(key), f"{path}/{key}")
    elif before != after:
        yield f"{path}: {before!r} -> {after!r}"


def main(argv):
    if len(argv) != 3 or argv[1] not in ("save", "compare"):
        print(__doc__)
        return 2
    results = run()
    if argv[1] == "save":
        with open(argv[2], "w") as f:
            json.dump(results, f, indent=1, sort_keys=True)
        print(f"{len(results)} cases saved to {argv[2]}")
        return 0
    with open(argv[2]) as f:
        before = json.load(f)
    diffs = list(_diff(before, json.loads(json.dumps(results))))
    for line in diffs:
        print(line)
    print(f"{len(results)} cases, {len(diffs)} differences")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
