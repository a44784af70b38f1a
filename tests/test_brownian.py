import numpy as np
import pytest

from dynopt.engine import (NoiseSource, as_seed_sequence, block_generator, brownian_increments, coarsen_increments,
                           make_layout)


def test_block_stream_is_spawn_child():
    root = np.random.SeedSequence(7)
    child = root.spawn(3)[2]
    a = np.random.Generator(np.random.SFC64(child)).standard_normal(5)
    b = block_generator(np.random.SeedSequence(7), 2).standard_normal(5)
    assert np.array_equal(a, b)


def test_increments_statistics():
    dW = brownian_increments(4000, 50, 0.01, seed=3, block_size=512)
    assert dW.shape == (50, 4000, 1)
    v = dW.var()
    se = 0.01 * np.sqrt(2 / dW.size)
    assert abs(v - 0.01) < 5 * se
    WT = dW.sum(0)[:, 0]
    assert abs(WT.var(ddof=1) - 0.5) < 5 * 0.5 * np.sqrt(2 / WT.size)


def test_coarsen_matches_sum():
    dW = brownian_increments(10, 12, 0.1, seed=1)
    c = coarsen_increments(dW, 4)
    assert c.shape == (3, 10, 1)
    assert np.allclose(c.sum(0), dW.sum(0))
    with pytest.raises(ValueError, match="`factor`"):
        coarsen_increments(dW, 5)


def test_seed_validation():
    with pytest.raises(ValueError, match="`seed`"):
        as_seed_sequence(-1)
    with pytest.raises(TypeError, match="`seed`"):
        as_seed_sequence("x")
    with pytest.raises(ValueError, match="not both"):
        as_seed_sequence(1, np.random.default_rng(0))
    g1, g2 = np.random.default_rng(5), np.random.default_rng(5)
    assert as_seed_sequence(rng=g1).entropy == as_seed_sequence(rng=g2).entropy


def test_layout_rounds_chunk_to_blocks():
    lay = make_layout(10000, 1000, 2500)
    assert lay.chunk_size in (2000, 3000) and lay.n_blocks == 10
    assert list(lay.chunks())[-1][3] == 10000
    with pytest.raises(ValueError, match="`n_paths`"):
        make_layout(0)
    with pytest.raises(ValueError, match="`block_size`"):
        make_layout(10, 0)


def test_replay_with_two_noise_terms_is_the_fine_path_in_time_order():
    """With k noise terms and r substeps a step draws r·k fine normals in time order and
    term j is the increment over the j-th k-th of the step (OBABO's two O half-steps)."""
    n, r, k = 300, 4, 2
    layout = make_layout(n, 128, n)
    root = np.random.SeedSequence(5)
    coarse = NoiseSource(root, layout, 0, layout.n_blocks, n_terms=k, substeps=r).draw().copy()
    fine = brownian_increments(n, r * k, 1.0, seed=np.random.SeedSequence(5), block_size=128)  # dt 1: N(0, 1)
    want = fine.reshape(k, r, n, 1).sum(axis=1) / np.sqrt(r)
    np.testing.assert_allclose(coarse, want, rtol=0, atol=1e-12)
    # and a run at the fine step with k terms draws the same numbers, term after term
    src = NoiseSource(root, layout, 0, layout.n_blocks, n_terms=k, substeps=1)
    steps = np.concatenate([src.draw().copy() for _ in range(r)])
    np.testing.assert_array_equal(steps, fine)


def test_float32_brownian_increments_are_the_engines_float32_normals():
    import sympy

    from dynopt.dynamics import OverdampedLangevin
    from dynopt.engine import EnsembleOptions, brownian_increments, simulate
    from dynopt.problems import from_expr

    flat = OverdampedLangevin(from_expr(sympy.Integer(0), symbols=[sympy.Symbol("x")], name="flat"), 0.5)
    r = simulate(flat, "euler-maruyama", (0, 0.2), [0.0], 0.05, n_paths=64, seed=3, backend="numpy",
                 options=EnsembleOptions(block_size=32, dtype=np.float32))
    dW = brownian_increments(64, 4, 0.05, seed=3, block_size=32, dtype=np.float32)
    assert dW.dtype == np.float32
    np.testing.assert_allclose(r.y_final[:, 0], 0.5 * dW.sum(axis=0)[:, 0], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="^`dt` must be in \\(0.0, inf\\)"):
        brownian_increments(4, 2, 0.0)
    with pytest.raises(ValueError, match="^`n_steps` must be a non-negative integer; got -1$"):
        brownian_increments(4, -1, 0.1)


def _reference_normals(seed, n_paths, block_size, n_steps, n_terms=1, dim=1, substeps=1, dtype=np.float64,
                       first_block=0, last_block=None):
    """The documented streams by hand: block b draws from SFC64(root.spawn(...)[b]) in the
    order (step, term, substep, path, component); substeps are summed and divided by √r."""
    n_blocks = -(-n_paths // block_size)
    last_block = n_blocks if last_block is None else last_block
    children = np.random.SeedSequence(seed).spawn(n_blocks)
    gens = [np.random.Generator(np.random.SFC64(children[b])) for b in range(first_block, last_block)]
    sizes = [min(block_size, n_paths - b * block_size) for b in range(first_block, last_block)]
    out = []
    for _ in range(n_steps):
        parts = [g.standard_normal((n_terms, substeps, s, dim), dtype=dtype) for g, s in zip(gens, sizes)]
        step = np.concatenate(parts, axis=2)
        out.append(step[:, 0] if substeps == 1 else step.sum(axis=1) / np.sqrt(substeps))
    return np.array(out, dtype=dtype)


def test_brownian_increments_are_the_documented_block_streams():
    """brownian_increments: √dt times block b's SFC64 normals (spawn child b), path after path."""
    dW = brownian_increments(10, 3, 0.04, dim=2, seed=4, block_size=4)
    want = _reference_normals(4, 10, 4, 3, dim=2)[:, 0] * 0.2
    assert dW.shape == (3, 10, 2) and dW.dtype == np.float64
    np.testing.assert_allclose(dW, want, rtol=1e-15, atol=0)
    f32 = brownian_increments(10, 3, 0.04, dim=2, seed=4, block_size=4, dtype=np.float32)
    assert f32.dtype == np.float32
    np.testing.assert_allclose(f32, _reference_normals(4, 10, 4, 3, dim=2, dtype=np.float32)[:, 0] * np.float32(0.2),
                               rtol=1e-6)
    # defaults: one block of 4096, dim 1, float64; a SeedSequence or rng gives the same numbers
    one = brownian_increments(5, 2, 0.25, seed=9)
    np.testing.assert_array_equal(one, _reference_normals(9, 5, 4096, 2)[:, 0] * 0.5)
    np.testing.assert_array_equal(one, brownian_increments(5, 2, 0.25, 1, np.random.SeedSequence(9), None, 4096,
                                                           np.float64))
    np.testing.assert_array_equal(one, brownian_increments(5, 2, 0.25, rng=np.random.SeedSequence(9)))
    assert brownian_increments(3, 0, 0.1, seed=1).shape == (0, 3, 1)


@pytest.mark.parametrize("n_terms,substeps,dtype", [(1, 1, np.float64), (2, 1, np.float64), (1, 3, np.float64),
                                                    (2, 3, np.float32), (3, 1, np.float32)])
def test_noise_source_chunks_draw_the_documented_streams(n_terms, substeps, dtype):
    """NoiseSource.draw for a chunk of middle blocks: each block's stream by hand, any terms, substeps, dtype."""
    layout = make_layout(11, 3)  # blocks of 3, 3, 3, 2 paths
    src = NoiseSource(np.random.SeedSequence(21), layout, 1, 4, n_terms, 2, substeps, dtype)
    assert src.rows == [(3, 6), (6, 9), (9, 11)] and src.local == [(0, 3), (3, 6), (6, 8)]
    assert len(src.gens) == 3 and src.buf.shape == (n_terms, 8, 2) and src.buf.dtype == dtype
    got = np.array([src.draw().copy() for _ in range(3)])
    want = _reference_normals(21, 11, 3, 3, n_terms, 2, substeps, dtype, first_block=1, last_block=4)
    assert got.dtype == dtype
    np.testing.assert_allclose(got, want, rtol=1e-6 if dtype == np.float32 else 1e-14)
    single = NoiseSource(np.random.SeedSequence(21), layout, 3, 4, n_terms, 2, substeps, dtype)
    np.testing.assert_allclose(single.draw(), want[0][:, 6:8], rtol=1e-6 if dtype == np.float32 else 1e-14)
    two = NoiseSource(np.random.SeedSequence(21), layout, 2, 4, n_terms, 2, substeps, dtype)
    np.testing.assert_allclose(two.draw(), want[0][:, 3:8], rtol=1e-6 if dtype == np.float32 else 1e-14)


def test_noise_source_defaults():
    """NoiseSource: by default one term, one component, no substeps, float64."""
    layout = make_layout(5, 2)
    a = NoiseSource(np.random.SeedSequence(2), layout, 0, 3)
    b = NoiseSource(np.random.SeedSequence(2), layout, 0, 3, 1, 1, 1, np.float64)
    assert (a.n_terms, a.m, a.r, a.dtype) == (1, 1, 1, np.dtype(np.float64))
    np.testing.assert_array_equal(a.draw(), b.draw())
    np.testing.assert_array_equal(a.draw(), _reference_normals(2, 5, 2, 2)[1])


def test_as_seed_sequence_from_each_kind_of_seed():
    """as_seed_sequence: ints (0 included), numpy ints, SeedSequences, Generators (128 bits of
    entropy), None (fresh), the rest refused with the argument's name."""
    assert as_seed_sequence(0).entropy == 0 and as_seed_sequence(np.int64(12)).entropy == 12
    assert as_seed_sequence(rng=5).entropy == 5
    ss = np.random.SeedSequence(3)
    assert as_seed_sequence(ss) is ss and as_seed_sequence(rng=ss) is ss
    hi, lo = (int(v) for v in np.random.default_rng(8).integers(0, 2 ** 64, size=2, dtype=np.uint64))
    assert as_seed_sequence(np.random.default_rng(8)).entropy == (hi << 64) | lo
    assert as_seed_sequence().entropy != as_seed_sequence(None, None).entropy
    with pytest.raises(TypeError, match=r"^`seed` must be an int, a numpy SeedSequence or a Generator; got bool$"):
        as_seed_sequence(True)
    with pytest.raises(TypeError, match=r"^`rng` must be an int, a numpy SeedSequence or a Generator; got float$"):
        as_seed_sequence(rng=1.0, name="rng")
    with pytest.raises(ValueError, match=r"^`rng` must be a non-negative integer; got -2$"):
        as_seed_sequence(-2, name="rng")
    with pytest.raises(ValueError, match=r"^give `seed` or `rng`, not both$"):
        as_seed_sequence(0, 0)


def test_make_layout_rounds_chunks_to_whole_blocks():
    """make_layout: chunk = round(chunk/block) blocks, at least 1, at most all; default chunk one block."""
    assert make_layout(100, 10) == (100, 10, 1)
    assert make_layout(100, 10, 24) == (100, 10, 2) and make_layout(100, 10, 26) == (100, 10, 3)
    assert make_layout(100, 10, 4) == (100, 10, 1) and make_layout(100, 10, 5000) == (100, 10, 10)
    assert make_layout(100, 10, default_chunk=30) == (100, 10, 3)
    assert make_layout(100, 10, 20, default_chunk=30) == (100, 10, 2)
    assert make_layout(95, 10, 1000) == (95, 10, 10)
    assert make_layout(5000) == (5000, 4096, 1)
    lay = make_layout(95, 10, 30)
    assert lay.n_blocks == 10 and lay.chunk_size == 30 and lay.block_rows(9) == (90, 95)
    assert list(lay.chunks()) == [(0, 3, 0, 30), (3, 6, 30, 60), (6, 9, 60, 90), (9, 10, 90, 95)]
    assert list(lay.chunks(2, 7)) == [(2, 5, 20, 50), (5, 7, 50, 70)]
    with pytest.raises(ValueError, match=r"^`chunk_size` must be a positive integer; got 0$"):
        make_layout(10, 2, 0)
    with pytest.raises(ValueError, match=r"^`block_size` must be a positive integer; got 2.0$"):
        make_layout(10, 2.0)
