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
