"""select_rank at its defaults on issue 20's planted-rank grid, and its fits side by side
against one after another.

    python asv_bench/rank_grid.py                 # 200×150: planted rank 3, 5, 8 × noise 5, 10, 20 %
    python asv_bench/rank_grid.py --size large    # the same at 1000×500 (about 20 minutes)
    python asv_bench/rank_grid.py --poisson       # KL on Poisson counts, rank 3, 5, 8 × 3 seeds
    python asv_bench/rank_grid.py --sides         # 200×150, r = 5 and 8: side by side vs one
                                                  # after another (best of 2, interleaved)

Each cell is ``select_rank(X, range(2, 2r + 2), random_state=0)`` with nothing else given
(KL: ``beta_loss="kullback-leibler"``); the data are ``clip(T + noise·mean(T)·N(0, 1), 0)``
with ``T`` a product of uniform factors of rank r (seed 100 + r), or ``X ~ Poisson(10·W H)``
with W, H ~ Gamma(0.5, 1) (seeds 0, 1, 2).  "One after another" replaces
``nmf_numba._compiled.batchable`` by a function returning False for the call, so that
``nmf_many`` runs the fits as single calls: the same table, bit for bit.
"""

import argparse
import time
import warnings

import numpy as np

import nmf_numba as nn
from nmf_numba import _compiled


def planted(m, n, r, noise, seed):
    rng = np.random.default_rng(seed)
    T = rng.random((m, r)) @ rng.random((r, n))
    return np.clip(T + noise * T.mean() * rng.standard_normal(T.shape), 0, None)


def poisson(m, n, r, seed):
    rng = np.random.default_rng(seed)
    return rng.poisson(10 * rng.gamma(0.5, 1, (m, r)) @ rng.gamma(0.5, 1, (r, n))).astype(float)


def grid(args):
    m, n = (200, 150) if args.size == "small" else (1000, 500)
    cells = ([(f"KL {m}x{n} r={r} seed={s}", poisson(m, n, r, s), r, "kullback-leibler")
              for r in (3, 5, 8) for s in range(3)] if args.poisson else
             [(f"{m}x{n} r={r} noise={noise:.0%}", planted(m, n, r, noise, 100 + r), r,
               "frobenius") for r in (3, 5, 8) for noise in (0.05, 0.10, 0.20)])
    hits, total = 0, 0.0
    for name, X, r, beta in cells:
        t = time.perf_counter()
        res = nn.select_rank(X, range(2, 2 * r + 2), beta_loss=beta, random_state=0)
        seconds = time.perf_counter() - t
        hits += res.suggested_rank == r
        total += seconds
        print(f"{name}: suggested {res.suggested_rank} ({seconds:.1f} s)", flush=True)
    print(f"planted rank found in {hits} of {len(cells)} cells, {total:.0f} s in all")


def sides():
    original = _compiled.batchable
    for r, noise in ((5, 0.05), (8, 0.10)):
        X = planted(200, 150, r, noise, 100 + r)
        best = {"side by side": np.inf, "one after another": np.inf}
        for _ in range(2):
            for side in best:
                _compiled.batchable = original if side == "side by side" else (lambda fit: False)
                try:
                    t = time.perf_counter()
                    nn.select_rank(X, range(2, 2 * r + 2), random_state=0)
                    best[side] = min(best[side], time.perf_counter() - t)
                finally:
                    _compiled.batchable = original
        print(f"200x150 r={r} noise={noise:.0%}: side by side {best['side by side']:.2f} s, "
              f"one after another {best['one after another']:.2f} s, "
              f"ratio {best['one after another'] / best['side by side']:.2f}x", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=("small", "large"), default="small")
    parser.add_argument("--poisson", action="store_true")
    parser.add_argument("--sides", action="store_true")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    nn.select_rank(planted(40, 30, 2, 0.05, 0), [1, 2], random_state=0)  # compile first
    sides() if args.sides else grid(args)


if __name__ == "__main__":
    main()
