"""nmf_many: each problem's fit is the single call's, bit for bit, whichever engine runs it.

``batched`` counts the calls of the batched engine (``_compiled._iterate_many``), so every test
knows whether the fits ran side by side or one after another."""

import warnings

import numba
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

import nmf_numba as nn
from nmf_numba import _compiled


@pytest.fixture
def batched(monkeypatch):
    calls = []
    engine = _compiled._iterate_many

    def spy(*args):
        calls.append(len(args[0]))  # problems in the call
        return engine(*args)

    monkeypatch.setattr(_compiled, "_iterate_many", spy)
    return calls


def _stack(p=6, m=20, n=12, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).random((p, m, n)).astype(dtype) + 0.01


def _same(a, b):
    assert np.array_equal(a.W, b.W) and np.array_equal(a.H, b.H)
    assert a.loss == b.loss and a.data_loss == b.data_loss
    assert a.n_iter == b.n_iter and a.stop_reason == b.stop_reason
    np.testing.assert_array_equal(a.history["iteration"], b.history["iteration"])
    np.testing.assert_array_equal(a.history["objective"], b.history["objective"])


@pytest.mark.parametrize("kw", [
    dict(),                                                  # the default call
    dict(solver="cd", tol=0, max_iter=60),
    dict(solver="hals", alpha_W=0.01, l1_ratio=0.5),
    dict(solver="mu", beta_loss="kullback-leibler", accelerate=False, max_iter=80),
    dict(solver="mu", beta_loss=0.5, init="random"),
    dict(solver="cd", stop="sklearn", init="random"),
])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_stack_gives_the_single_calls_bit_for_bit(batched, kw, dtype):
    S = _stack(dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        many = nn.nmf_many(S, 3, random_state=7, **kw)
        singles = [nn.nmf(X, 3, random_state=7, **kw) for X in S]
    assert batched == [len(S)]
    assert many.W.shape == (6, 20, 3) and many.H.shape == (6, 3, 12)
    assert many.W.dtype == dtype
    for i, single in enumerate(singles):
        _same(many[i], single)
        assert many.loss[i] == single.loss and many.n_iter[i] == single.n_iter
        np.testing.assert_array_equal(many.W[i], single.W)


def test_a_list_of_shapes_and_formats_gives_the_single_calls(batched):
    rng = np.random.default_rng(1)
    Xs = [rng.random((30, 10)), sp.random(25, 40, density=0.3, format="csr", random_state=2),
          rng.random((8, 50)).astype(np.float32),
          sp.random(20, 20, density=0.5, format="csr", random_state=3, dtype=np.float32)]
    seeds = [3, 4, 5, 6]
    kw = dict(solver="cd", max_iter=40, tol=0, accelerate=False)
    many = nn.nmf_many(Xs, 4, random_state=seeds, **kw)
    assert sorted(batched) == [1, 1, 1, 1]  # one call per kind of data
    assert isinstance(many.W, list) and [W.shape for W in many.W] == [(30, 4), (25, 4),
                                                                      (8, 4), (20, 4)]
    for X, seed, result in zip(Xs, seeds, many.results):
        _same(result, nn.nmf(X, 4, random_state=seed, **kw))
    # CSR data with the default accelerate="auto" (extrapolated cd): single calls, same fits
    batched.clear()
    many = nn.nmf_many(Xs, 4, random_state=seeds, solver="cd", max_iter=40, tol=0)
    assert sorted(batched) == [1, 1]
    assert many[1].accelerated and not many[0].accelerated
    for X, seed, result in zip(Xs, seeds, many.results):
        _same(result, nn.nmf(X, 4, random_state=seed, solver="cd", max_iter=40, tol=0))


def test_fits_the_batch_cannot_run_are_single_calls_in_order(batched):
    S = _stack(p=3)
    rng_many, rng_loop = np.random.default_rng(11), np.random.default_rng(11)
    kw = dict(solver="cd", n_init=2, init="random", max_iter=30)
    many = nn.nmf_many(S, 2, random_state=rng_many, **kw)
    assert batched == [2, 2, 2]  # each problem a single call, its two restarts side by side
    for X, result in zip(S, many.results):
        _same(result, nn.nmf(X, 2, random_state=rng_loop, **kw))


def test_a_shared_generator_is_drawn_as_a_loop_would(batched):
    S = _stack(p=4)
    many = nn.nmf_many(S, 3, random_state=np.random.default_rng(5), init="random", max_iter=20)
    assert batched == [4]
    rng = np.random.default_rng(5)
    for X, result in zip(S, many.results):
        _same(result, nn.nmf(X, 3, random_state=rng, init="random", max_iter=20))
    assert not np.array_equal(many.W[0], many.W[1])


def test_starts_per_problem(batched):
    S = _stack(p=3)
    starts = [nn.initialize(X, 2, "random", random_state=i) for i, X in enumerate(S)]
    W0s, H0s = np.stack([w for w, _ in starts]), np.stack([h for _, h in starts])
    a = nn.nmf_many(S, 2, init=(W0s, H0s), max_iter=15)
    b = nn.nmf_many(S, 2, init=starts, max_iter=15)
    for i, X in enumerate(S):
        single = nn.nmf(X, 2, init=starts[i], max_iter=15)
        _same(a[i], single)
        _same(b[i], single)
    assert batched == [3, 3]


@pytest.mark.parametrize("threads", [1, 2])
def test_the_thread_count_does_not_change_the_bits(batched, threads):
    if numba.config.NUMBA_NUM_THREADS < threads:
        pytest.skip("needs 2 Numba threads")
    S = _stack(p=9)
    reference = nn.nmf_many(S, 3, random_state=0, max_iter=50, tol=0)
    before = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        again = nn.nmf_many(S, 3, random_state=0, max_iter=50, tol=0)
    finally:
        numba.set_num_threads(before)
    assert batched == [9, 9]
    np.testing.assert_array_equal(reference.W, again.W)
    np.testing.assert_array_equal(reference.H, again.H)


def test_one_warning_for_the_call():
    S = _stack(p=5)
    with pytest.warns(ConvergenceWarning, match="5 of 5 fits reached max_iter=3") as record:
        nn.nmf_many(S, 2, max_iter=3, tol=1e-12)
    assert len([w for w in record if issubclass(w.category, ConvergenceWarning)]) == 1


def test_inputs_are_not_modified():
    S = _stack(p=3)
    starts = [nn.initialize(X, 2, "random", random_state=i) for i, X in enumerate(S)]
    copies = S.copy(), [(w.copy(), h.copy()) for w, h in starts]
    nn.nmf_many(S, 2, init=starts, max_iter=5)
    np.testing.assert_array_equal(S, copies[0])
    for (w, h), (w0, h0) in zip(starts, copies[1]):
        np.testing.assert_array_equal(w, w0)
        np.testing.assert_array_equal(h, h0)


@pytest.mark.parametrize("call, error, match", [
    (lambda: nn.nmf_many(np.ones((4, 5)), 2), ValueError, "3-D array"),
    (lambda: nn.nmf_many([], 2), ValueError, "at least one"),
    (lambda: nn.nmf_many(np.ones((0, 4, 5)), 2), ValueError, "at least one"),
    (lambda: nn.nmf_many(sp.random(4, 5, format="csr"), 2), TypeError, "list of matrices"),
    (lambda: nn.nmf_many(np.ones((3, 4, 5)), 2, random_state=[1, 2]), ValueError,
     "2 entries for 3 problems"),
    (lambda: nn.nmf_many(np.ones((3, 4, 5)), 2, init=(np.ones((2, 4, 2)), np.ones((2, 2, 5)))),
     ValueError, "for 3 problems"),
    (lambda: nn.nmf_many(np.ones((3, 4, 5)), 2, n_iter=3), TypeError, "n_iter"),
    (lambda: nn.nmf_many([np.ones((4, 5)), np.ones(3)], 2), ValueError, "problem 1"),
    (lambda: nn.nmf_many(-np.ones((2, 4, 5)), 2), ValueError, "non-negative"),
])
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_rounds_do_not_change_the_fits(monkeypatch, batched):
    S = _stack(p=5)
    kw = dict(max_iter=40, tol=1e-6, random_state=2)
    singles = [nn.nmf(X, 3, **kw) for X in S]
    monkeypatch.setattr(_compiled, "ROUND_SECONDS", 1e-7)  # a round per iteration or so
    many = nn.nmf_many(S, 3, **kw)
    assert len(batched) > 10
    for result, single in zip(many.results, singles):
        _same(result, single)


@pytest.mark.parametrize("kw", [dict(init="random"), dict(init="nndsvda", solver="mu"),
                                dict(solver="mu", beta_loss=1.0, accelerate=False)])
def test_restarts_run_side_by_side_and_give_the_sequential_result(monkeypatch, batched, kw):
    X = _stack(p=1)[0]
    together = nn.nmf(X, 3, n_init=4, random_state=1, max_iter=40, **kw)
    assert batched == [4]
    monkeypatch.setattr(_compiled, "batchable", lambda fit: False)
    one_by_one = nn.nmf(X, 3, n_init=4, random_state=1, max_iter=40, **kw)
    assert batched == [4]
    _same(together, one_by_one)
    np.testing.assert_array_equal(together.run_losses, one_by_one.run_losses)
    assert together.best_run == one_by_one.best_run


def test_consensus_runs_its_replicates_side_by_side(monkeypatch, batched):
    X = _stack(p=1, m=24, n=10)[0]
    together = nn.consensus(X, 2, n_runs=6, random_state=0, max_iter=30)
    assert batched == [6]
    monkeypatch.setattr(_compiled, "batchable", lambda fit: False)
    one_by_one = nn.consensus(X, 2, n_runs=6, random_state=0, max_iter=30)
    np.testing.assert_array_equal(together.run_labels, one_by_one.run_labels)
    np.testing.assert_array_equal(together.losses, one_by_one.losses)
    np.testing.assert_array_equal(together.matrix, one_by_one.matrix)


@pytest.mark.parametrize("fmt", ["dense", "csr"])
def test_the_same_matrix_is_validated_once(monkeypatch, batched, fmt):
    """Replicates (the same matrix object p times, as consensus passes it) share one validated
    copy of the data; each still equals its single call, and other matrices are validated."""
    from nmf_numba import many

    X = _stack(p=1, m=24, n=15, seed=3)[0]
    other = _stack(p=1, m=24, n=15, seed=4)[0]
    if fmt == "csr":
        X, other = sp.csr_matrix(X), sp.csr_matrix(other)
    validated = []
    validate = many._validate
    monkeypatch.setattr(many, "_validate",
                        lambda *a, **k: validated.append(a[0]) or validate(*a, **k))
    seeds = [1, 2, 3, 4]
    kw = dict(init="random", accelerate=False)  # CSR's default: accelerated, not batched
    res = nn.nmf_many([X, X, X, other, X], 3, random_state=seeds + [5], **kw)
    assert [v is X for v in validated] == [True, False, True]  # X, other, X again
    assert batched == [5]
    assert res.results[0] is not res.results[1]
    for i, seed in enumerate(seeds[:3]):
        _same(res[i], nn.nmf(X, 3, random_state=seed, **kw))
    _same(res[4], nn.nmf(X, 3, random_state=5, **kw))
    with pytest.raises(ValueError, match="random_state"):
        nn.nmf_many([X, X], 3, random_state=[0, "bad"])
