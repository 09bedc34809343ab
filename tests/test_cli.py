"""The command line (nmf_numba.cli): every input format, outputs, JSON, errors in one line."""

import json
import subprocess
import sys

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp

from nmf_numba import cli


@pytest.fixture(scope="module")
def X():
    rng = np.random.default_rng(0)
    return rng.random((30, 4)) @ rng.random((4, 16))


def _write(tmp_path, X, name):
    path = tmp_path / name
    if name.endswith(".npy"):
        np.save(path, X)
    elif name.endswith("sparse.npz"):
        sp.save_npz(path, sp.csr_matrix(X))
    elif name.endswith(".npz"):
        np.savez(path, X=X)
    elif name.endswith(".mtx"):
        scipy.io.mmwrite(path, sp.csr_matrix(X))
    elif name.endswith(".csv"):
        np.savetxt(path, X, delimiter=",", header=",".join(f"f{j}" for j in range(X.shape[1])),
                   comments="")
    elif name.endswith(".tsv"):
        np.savetxt(path, X, delimiter="\t")
    return path


@pytest.mark.parametrize("name", ["x.npy", "x.npz", "x_sparse.npz", "x.mtx", "x.csv", "x.tsv"])
def test_every_input_format_reads_back_the_matrix(tmp_path, X, name):
    read = cli.read_matrix(_write(tmp_path, X, name))
    assert sp.issparse(read) == (name.endswith((".mtx", "sparse.npz")))
    np.testing.assert_allclose(read.toarray() if sp.issparse(read) else read, X, rtol=1e-15)


def test_fit_writes_factors_and_a_json_summary(tmp_path, X, capsys):
    path = _write(tmp_path, X, "x.npy")
    out = tmp_path / "res" / "f.npz"
    rc = cli.main(["fit", str(path), "-k", "4", "--seed", "0", "--out", str(out), "--json",
                   "--beta-loss", "kl", "--max-iter", "50"])
    assert rc == 0
    printed = json.loads(capsys.readouterr().out)
    saved = json.loads(out.with_suffix(".json").read_text())
    assert printed == saved
    assert saved["parameters"]["beta_loss"] == 1.0 and saved["n_iter"] <= 50
    for key in ("seconds", "objective", "relative_error", "explained_variance", "sparsity"):
        assert key in saved
    with np.load(out) as f:
        assert f["W"].shape == (30, 4) and f["H"].shape == (4, 16)
        assert saved["relative_error"] == pytest.approx(
            np.linalg.norm(X - f["W"] @ f["H"]) / np.linalg.norm(X))
    assert not list(tmp_path.glob("res/.*part"))  # no temporary file left behind


@pytest.mark.parametrize("flag,expected", [("auto", True), ("off", False), ("on", True)])
def test_fit_accelerate_option(tmp_path, X, capsys, flag, expected):
    """--accelerate reaches nmf(); the summary says whether the accelerated variant ran (KL:
    "auto" runs it)."""
    path = _write(tmp_path, X, "x.npy")
    out = tmp_path / "f.npz"
    assert cli.main(["fit", str(path), "-k", "3", "--seed", "0", "--out", str(out), "--json",
                     "--beta-loss", "kl", "--max-iter", "20", "--accelerate", flag]) == 0
    assert json.loads(capsys.readouterr().out)["parameters"]["accelerate"] is expected


def test_fit_plots(tmp_path, X, capsys):
    pytest.importorskip("matplotlib", reason="plots need the plot extra (matplotlib)")
    path = _write(tmp_path, X, "x.npy")
    rc = cli.main(["fit", str(path), "-k", "3", "--out", str(tmp_path / "f.npz"),
                   "--plot", str(tmp_path / "figs"), "--quiet"])
    assert rc == 0 and capsys.readouterr().out == ""
    assert (tmp_path / "figs" / "objective.png").stat().st_size > 1000
    assert (tmp_path / "figs" / "components.png").exists()  # 16 features: 4×4 images


def test_rank_prints_the_table_and_the_suggestion(tmp_path, X, capsys):
    noisy = X + 0.05 * X.mean() * np.random.default_rng(1).standard_normal(X.shape)
    path = _write(tmp_path, np.clip(noisy, 0, None), "x.npy")  # rank 4 and noise
    assert cli.main(["rank", str(path), "--ranks", "2:6", "--seed", "0", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [row["rank"] for row in out["table"]] == [2, 3, 4, 5, 6]
    assert out["suggested_rank"] == 4


@pytest.mark.parametrize("argv,message", [
    (["fit", "{missing}", "-k", "2"], "no such file"),
    (["fit", "{bad_ext}", "-k", "2"], "unknown format"),
    (["fit", "{garbage_npy}", "-k", "2"], "cannot read it"),
    (["fit", "{three_d}", "-k", "2"], "2-D matrix"),
    (["fit", "{negative}", "-k", "2"], "Negative values"),
    (["fit", "{npy}", "-k", "0"], "n_components"),
    (["fit", "{npy}"], "required: -k"),
    (["fit", "{npy}", "-k", "2", "--solver", "magic"], "invalid choice"),
    (["fit", "{npy}", "-k", "2", "--beta-loss", "hello"], "--beta-loss"),
    (["fit", "{npy}", "-k", "2", "--out", "{tmp}/f.txt"], "written as .npz"),
    (["rank", "{npy}", "--ranks", "5:x"], "--ranks"),
    (["explode"], "invalid choice"),
])
def test_errors_are_one_line_with_exit_code_2(tmp_path, X, capsys, argv, message):
    files = {
        "missing": tmp_path / "nope.npy",
        "bad_ext": tmp_path / "x.xlsx",
        "garbage_npy": tmp_path / "g.npy",
        "three_d": tmp_path / "t.npy",
        "negative": tmp_path / "n.npy",
        "npy": tmp_path / "x.npy",
        "tmp": tmp_path,
    }
    files["bad_ext"].write_text("1,2\n")
    files["garbage_npy"].write_bytes(b"not numpy at all")
    np.save(files["three_d"], np.ones((2, 2, 2)))
    np.save(files["negative"], -X)
    np.save(files["npy"], X)
    argv = [a.format(**files) for a in argv]
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nmf-numba: error:") and message in lines[0]
    assert not list(tmp_path.glob("*.npz")) and not list(tmp_path.glob(".*part"))


def test_a_failed_write_leaves_no_partial_file(tmp_path):
    target = tmp_path / "f.npz"

    def write(f):
        f.write(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cli._atomic_write(target, write)
    assert list(tmp_path.iterdir()) == []


def test_entry_point_runs_as_a_module(tmp_path, X):
    path = _write(tmp_path, X, "x.csv")
    run = subprocess.run([sys.executable, "-m", "nmf_numba", "fit", str(path), "-k", "3",
                          "--out", str(tmp_path / "f.npz")], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    assert "relative error" in run.stdout
    assert "it/s" not in run.stderr  # no progress bar when stderr is not a terminal
