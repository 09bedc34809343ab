"""The β = 2 solvers on the three seeded problems of issue 3: how close each gets to the best
objective any solver reaches after a long run, from the same initialisation.

Measured (nndsvda init, k = 10, relative gap to the best after 4000 iterations; pgd 1000; 2 cores):

    problem     hals     anls     cd       pgd      mu
    low-noise   0        1.1e-4   2.4e+1   2.3e+2   5.9e+3
    noisy       0        1.1e-6   9.3e-4   2.8e-3   2.1e-2
    csr         1.8e-15  8.1e-05  0        8.3e-5   3.2e-4

so "every solver within 1e-4 of the best" holds for hals and anls on every problem (anls needs
6000 iterations on the low-noise one) and for cd and pgd on the sparse one; plain cd, pgd and mu
are far slower on the low-noise problem, whose best objective is ~1e-8 of ‖X‖², so a 1e-4 gap
there asks for near-exact recovery.  The tests assert what holds.
"""

import numpy as np
import pytest
import scipy.sparse as sp

import nmf_numba as nn


def _problem(name):
    if name == "low-noise":
        rng = np.random.default_rng(0)
        return rng.random((300, 10)) @ rng.random((10, 200)) + 1e-3 * rng.random((300, 200))
    if name == "noisy":
        rng = np.random.default_rng(1)
        return rng.random((300, 10)) @ rng.random((10, 200)) + 0.5 * rng.random((300, 200))
    return sp.random(1000, 800, density=0.05, format="csr", random_state=2)


_RUNS = {}


def _loss(name, solver, max_iter):
    """Final objective of one run from the nndsvda init (each run done once per session)."""
    key = (name, solver, max_iter)
    if key not in _RUNS:
        res = nn.nmf(_problem(name), 10, solver=solver, init="nndsvda", max_iter=max_iter, tol=0,
                     random_state=0)  # NNDSVD uses a randomized SVD: seed it
        assert np.all(res.W >= 0) and np.all(res.H >= 0)
        _RUNS[key] = res.loss
    return _RUNS[key]


CASES = [
    ("low-noise", "hals", 4000), ("low-noise", "anls", 6000),
    ("noisy", "hals", 4000), ("noisy", "anls", 4000),
    ("csr", "hals", 4000), ("csr", "anls", 4000), ("csr", "cd", 4000),
    # pgd is slow on this one: 1.08e-4 above the best at 1000 iterations, 9.9e-5 at 2000,
    # 2.5e-8 at 3000 (measured 2026-12-06)
    pytest.param("csr", "pgd", 3000, marks=pytest.mark.slow),
]


@pytest.mark.parametrize("name,solver,max_iter", CASES)
def test_reaches_the_best_objective(name, solver, max_iter):
    # the best after a long run: a 4000-iteration hals run reached it on every problem
    best = min(_loss(name, "hals", 4000), _loss(name, "anls", 6000 if name == "low-noise" else 4000))
    assert _loss(name, solver, max_iter) <= best * (1 + 1e-4)
