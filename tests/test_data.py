"""Datasets: synthetic regression, bundled digits, IDX reader/writer, minibatches."""
import gzip

import numpy as np
import pytest

from dynopt.learning import data


def test_linear_regression_data_matches_d2l_and_is_seeded():
    d = data.linear_regression_data(seed=3)
    assert d.X.shape == (1000, 2) and d.y.shape == (1000,)
    resid = d.y - d.X @ np.array([2, -3.4]) - 4.2
    # noise sd 0.01: the sample sd is within 5 SE (SE of an sd ≈ σ/√(2n))
    assert abs(resid.std() - 0.01) < 5 * 0.01 / np.sqrt(2000)
    np.testing.assert_array_equal(d.X, data.linear_regression_data(seed=3).X)
    with pytest.raises(ValueError, match="`noise`"):
        data.linear_regression_data(noise=-1)


def test_digits_normalized_like_the_sources():
    d = data.load_digits()
    assert d.X.shape == (1797, 64) and set(np.unique(d.y)) == set(range(10))
    assert d.X.min() == -1.0 and d.X.max() == 1.0
    u = data.load_digits("unit")
    np.testing.assert_allclose(d.X, (u.X - 0.5) / 0.5)
    with pytest.raises(ValueError, match="`normalize`"):
        data.load_digits("zscore")


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_roundtrip_and_mnist_loader(tmp_path, rng, suffix):
    images = rng.integers(0, 256, size=(7, 28, 28)).astype(np.uint8)
    labels = rng.integers(0, 10, size=7).astype(np.uint8)
    data.write_idx(tmp_path / f"train-images-idx3-ubyte{suffix}", images)
    data.write_idx(tmp_path / f"train-labels-idx1-ubyte{suffix}", labels)
    np.testing.assert_array_equal(data.read_idx(tmp_path / f"train-images-idx3-ubyte{suffix}"), images)
    ds = data.load_mnist(tmp_path)
    assert ds.X.shape == (7, 784)
    np.testing.assert_allclose(ds.X, (images.reshape(7, -1) / 255 - 0.5) / 0.5)
    np.testing.assert_array_equal(ds.y, labels)


def test_idx_other_dtypes_roundtrip(tmp_path, rng):
    for arr in [rng.normal(size=(3, 2)), rng.normal(size=4).astype(np.float32),
                rng.integers(-5, 5, size=(2, 2, 2)).astype(np.int32)]:
        p = data.write_idx(tmp_path / "a.idx", arr)
        out = data.read_idx(p)
        np.testing.assert_array_equal(out, arr)
        assert out.dtype == arr.dtype


def test_bad_idx_files_are_rejected_naming_the_file(tmp_path, rng):
    good = rng.integers(0, 256, size=(4, 3, 3)).astype(np.uint8)
    p = data.write_idx(tmp_path / "x-idx3-ubyte", good)
    raw = p.read_bytes()
    bad_magic = tmp_path / "bad-magic"
    bad_magic.write_bytes(b"\x01\x00" + raw[2:])
    with pytest.raises(ValueError, match="bad-magic.*magic number"):
        data.read_idx(bad_magic)
    bad_type = tmp_path / "bad-type"
    bad_type.write_bytes(raw[:2] + b"\x07" + raw[3:])
    with pytest.raises(ValueError, match="bad-type.*type code"):
        data.read_idx(bad_type)
    short = tmp_path / "short.gz"
    with gzip.open(short, "wb") as fh:
        fh.write(raw[:-5])
    with pytest.raises(ValueError, match=r"short\.gz.*data bytes"):
        data.read_idx(short)
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="empty"):
        data.read_idx(empty)


def test_mnist_loader_checks_consistency(tmp_path, rng):
    data.write_idx(tmp_path / "train-images-idx3-ubyte", rng.integers(0, 256, (5, 4, 4)).astype(np.uint8))
    data.write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(4, np.uint8))
    with pytest.raises(ValueError, match="disagree"):
        data.load_mnist(tmp_path)
    with pytest.raises(FileNotFoundError, match="t10k-images"):
        data.load_mnist(tmp_path, kind="test")
    with pytest.raises(ValueError, match="`kind`"):
        data.load_mnist(tmp_path, kind="val")


def test_minibatches_cover_each_example_once_and_are_seeded():
    batches = list(data.minibatches(103, 10, rng=5))
    assert [len(b) for b in batches] == [10] * 10 + [3]
    np.testing.assert_array_equal(np.sort(np.concatenate(batches)), np.arange(103))
    again = list(data.minibatches(103, 10, rng=5))
    assert all(np.array_equal(a, b) for a, b in zip(batches, again))
    assert len(list(data.minibatches(103, 10, rng=5, drop_last=True))) == 10
    with pytest.raises(ValueError, match="`rng`"):
        list(data.minibatches(10, 2))
    with pytest.raises(ValueError, match="`batch_size`"):
        list(data.minibatches(10, 0, rng=1))
