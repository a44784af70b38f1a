"""A counter-based normal source: Philox4x32-10 words, Box–Muller with polynomial log/sin/cos.

Why: numpy's SFC64 ziggurat (the engine's default source, ``normals="sfc64"``) draws one
normal after another from a sequential state, so a compiled kernel must call it number by
number (numba's float32 ziggurat runs at about half numpy's speed) and nothing vectorises.
A *counter-based* generator computes every number from (key, counter) alone, so a block's
whole per-step buffer is one simple loop with no dependence between iterations, which
LLVM turns into SIMD code: the float32 source fills buffers several times faster than
SFC64 on one core.  ``simulate(..., options=EnsembleOptions(normals="philox"))`` opts in;
the default is unchanged.  In float64 numba's own SFC64 ziggurat is faster inside the
kernels than this source (which needs four words per two normals there): Philox is the
float32 choice, and the counter-based one everywhere.

Why Philox4x32-10 (Salmon, Moraes, Dror & Shaw, SC'11): a standard, published and
known-answer-tested counter-based generator (cuRAND, TensorFlow, Random123; it passes
TestU01's BigCrush with margin at 10 rounds), whose 32×32→64-bit multiplies map onto SIMD
integer multiplies (a 64-bit hash of the counter would need 64-bit vector multiplies).
Box–Muller rather than a ziggurat because it has no rejection branch to break the vector
loop.  The tails are cut where the uniforms end: |z| ≤ 6.77 in float32 (u ≥ 2⁻³³),
|z| ≤ 8.57 in float64 (u ≥ 2⁻⁵³).

The numbers (one definition, two executions):

* **Key.** Logical block ``b`` (:mod:`dynopt.engine.brownian`) owns the SeedSequence
  ``root.spawn``'s child ``b``; its first three 32-bit words give the Philox key (k0, k1)
  and a per-block fourth counter word c3 (more seed bits against accidental equal keys).
* **Counter.** A block draws, per step, one buffer of ``rows × m`` numbers per noise term
  and Brownian substep, in (path, component) order.  The buffer of step k (1-based),
  term t and substep s is *interval* τ = ((k − 1)·n_terms + t)·r + s — the index of the
  Brownian sub-interval in time order, so a run with r substeps sees the numbers of a run
  with an r-times smaller step.  Number j of interval τ comes from counter
  (j // p, τ mod 2³², τ // 2³², c3), p = 4 numbers per counter in float32 (two Box–Muller
  pairs from the four words), p = 2 in float64 (52-bit uniforms from two words each).
  Any block, step or number is so produced independently: results do not depend on chunk
  size, thread count or worker.
* **Transform.** Box–Muller: r = √(−2 ln u) with u ∈ (0, 1] from one word (float32) or
  52 bits (float64), angle θ = qπ/2 + a, quadrant q from the angle word's top two bits
  and a ∈ [−π/4, π/4) from the rest.  ln, sin and cos are Cephes' float32 polynomials and
  fdlibm's float64 kernels (errors ≤ 1 ulp on the reduced ranges; the normals are within
  2 eps·max(|z|, 1) of libm's Box–Muller on the same uniforms), written with +, −, ×, ÷ and
  √ only, each rounded once: numpy's ufuncs and numba's compiled loop (no fast-math, so
  no fused multiply-adds) give the same bits, which the tests assert.

The scalar functions below are written once; :func:`normals` runs them on numpy arrays
(the numpy backend), :func:`jit_fill` compiles them with numba (``inline="always"``, so the
fill loop is one flat body the vectoriser accepts) for the compiled kernels.
"""
from __future__ import annotations

import math
import time

import numpy as np

__all__ = ["NORMALS", "check_normals", "block_seed", "block_generator", "philox4x32", "block_key", "block_streams", "normals", "PhiloxSource", "jit_fill",
           "normals_rate"]

#: the values of ``EnsembleOptions(normals=)``: numpy's SFC64 ziggurat, or this module's source
NORMALS = ("sfc64", "philox")

_U64 = np.uint64
_MASK32, _S32 = _U64(0xFFFFFFFF), _U64(32)
# Philox4x32 multipliers and Weyl key increments (Salmon et al., SC'11; Random123)
_M0, _M1 = _U64(0xD2511F53), _U64(0xCD9E8D57)
_W0, _W1 = _U64(0x9E3779B9), _U64(0xBB67AE85)
_KEYS = tuple((_U64(i) * _W0, _U64(i) * _W1) for i in range(10))


def check_normals(normals):
    """Validate ``simulate``'s ``normals`` argument.

    Raises
    ------
    ValueError
        Unless it is one of :data:`NORMALS`.
    """
    if not isinstance(normals, str) or normals not in NORMALS:
        raise ValueError(f"`normals` must be one of {', '.join(repr(n) for n in NORMALS)}; got {normals!r}")
    return normals


# --------------------------------------------------------------------------------------
# the one definition (uint64 values holding 32-bit words; arrays or numba scalars)

def _round(c0, c1, c2, c3, k0, k1):
    p0 = _M0 * c0
    p1 = _M1 * c2
    return (p1 >> _S32) ^ c1 ^ k0, p1 & _MASK32, (p0 >> _S32) ^ c3 ^ k1, p0 & _MASK32


def _philox(c0, c1, c2, c3, k0, k1, rnd):
    # the ten rounds written out: a loop here would be an inner loop and stop LLVM from
    # vectorising the loop over counters that calls this
    c0, c1, c2, c3 = rnd(c0, c1, c2, c3, k0, k1)
    c0, c1, c2, c3 = rnd(c0, c1, c2, c3, (k0 + _KEYS[1][0]) & _MASK32, (k1 + _KEYS[1][1]) & _MASK32)
    c0, c1, c2, c3 = rnd(c0, c1, c2, c3, (k0 + _KEYS[2][0]) & _MASK32, (k1 + _KEYS[2][1]) & _MASK32)
    c0, c1, c2, c3 = rnd(c0, c1, c2, c3, (k0 + _KEYS[3][0]) & _MASK32, (k1 + _KEYS[3][1]) & _MASK32)
    c0, c1, c2, c3 = rnd(c0, c1, c2, c3, (k0 + _KEYS[4][0]) & _MASK32, (k1 + _KEYS[4][1]) & _MASK32)
    c0, c1, c2, c3 = rnd(c0, c1, c2, c3, (k0 + _KEYS[5][0]) & _MASK32, (k1 + _KEYS[5][1]) & _MASK32)
    c0, c1, c2, c3 = rnd(c0, c1, c2, c3, (k0 + _KEYS[6][0]) & _MASK32, (k1 + _KEYS[6][1]) & _MASK32)
    c0, c1, c2, c3 = rnd(c0, c1, c2, c3, (k0 + _KEYS[7][0]) & _MASK32, (k1 + _KEYS[7][1]) & _MASK32)
    c0, c1, c2, c3 = rnd(c0, c1, c2, c3, (k0 + _KEYS[8][0]) & _MASK32, (k1 + _KEYS[8][1]) & _MASK32)
    return rnd(c0, c1, c2, c3, (k0 + _KEYS[9][0]) & _MASK32, (k1 + _KEYS[9][1]) & _MASK32)


_F = np.float32
_H32, _ONE32, _TWO32 = _F(0.5), _F(1.0), _F(2.0)
_SQH32, _P32, _P24, _PIO2_32, _E126 = _F(math.sqrt(0.5)), _F(2.0 ** -32), _F(2.0 ** -24), _F(math.pi / 2), _F(126.0)
# Cephes logf (x in [√½ − 1, √2 − 1)), sinf and cosf (|x| ≤ π/4) coefficients
_LOG32 = tuple(_F(v) for v in (7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1,
                               1.4249322787e-1, -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1,
                               3.3333331174e-1))
_LN2LO32, _LN2HI32 = _F(-2.12194440e-4), _F(0.693359375)
_SIN32 = (_F(-1.9515295891e-4), _F(8.3321608736e-3), _F(-1.6666654611e-1))
_COS32 = (_F(2.443315711809948e-5), _F(-1.388731625493765e-3), _F(4.166664568298827e-2))
_MANT32, _HALF32, _S23 = np.uint32(0x7FFFFF), np.uint32(0x3F000000), np.uint32(23)
_S30, _S6, _M24, _B1 = _U64(30), _U64(6), _U64(0xFFFFFF), _U64(1)


def _pair32(wu, wa, sel, bits, flt, rot):
    """Two float32 normals from a radius word ``wu`` and an angle word ``wa``."""
    L = _LOG32
    u = (np.float32(np.uint32(wu)) + _H32) * _P32  # (0, 1]: ln u never sees 0
    b = bits(u)
    e = np.float32(np.uint32(b >> _S23)) - _E126
    m = flt(np.uint32((b & _MANT32) | _HALF32))  # u = m·2^e, m in [½, 1)
    small = m < _SQH32
    e = sel(small, e - _ONE32, e)
    x = sel(small, m + m - _ONE32, m - _ONE32)
    z = x * x
    y = ((((((((L[0] * x + L[1]) * x + L[2]) * x + L[3]) * x + L[4]) * x + L[5]) * x + L[6]) * x + L[7]) * x
         + L[8]) * x * z
    y = y + _LN2LO32 * e
    y = y - _H32 * z
    lg = (x + y) + _LN2HI32 * e
    r = np.sqrt(-_TWO32 * lg)
    q = wa >> _S30
    a = (np.float32(np.uint32((wa >> _S6) & _M24)) * _P24 - _H32) * _PIO2_32
    z = a * a
    s = ((_SIN32[0] * z + _SIN32[1]) * z + _SIN32[2]) * z * a + a
    c = ((_COS32[0] * z + _COS32[1]) * z + _COS32[2]) * z * z - _H32 * z + _ONE32
    return rot(r, s, c, q, sel, np.float32, _ONE32, _TWO32)


def _rotate(r, s, c, q, sel, fl, one, two):
    """r·(cos θ, sin θ) for θ = qπ/2 + a from (sin a, cos a): a quarter turn swaps them,
    and the signs follow the quadrant (multiplying by ±1 is exact)."""
    odd = (q & _B1) == _B1
    cx = sel(odd, s, c)
    sx = sel(odd, c, s)
    cos_sign = one - two * fl(np.uint32((q ^ (q >> _B1)) & _B1))
    sin_sign = one - two * fl(np.uint32(q >> _B1))
    return r * (cos_sign * cx), r * (sin_sign * sx)


_MANT64, _HALF64, _S52 = _U64(0x000FFFFFFFFFFFFF), _U64(0x3FE0000000000000), _U64(52)
_S20, _S12, _S22, _S10, _M30 = _U64(20), _U64(12), _U64(22), _U64(10), _U64(0x3FFFFFFF)
_P53, _P52, _SQH64, _E1022 = 2.0 ** -53, 2.0 ** -52, math.sqrt(0.5), 1022.0
# fdlibm e_log.c and k_sin.c / k_cos.c coefficients
_LG = (6.666666666666735130e-01, 3.999999999940941908e-01, 2.857142874366239149e-01, 2.222219843214978396e-01,
       1.818357216161805012e-01, 1.531383769920937332e-01, 1.479819860511658591e-01)
_LN2HI64, _LN2LO64 = 6.93147180369123816490e-01, 1.90821492927058770002e-10
_SIN64 = (-1.66666666666666324348e-01, 8.33333333332248946124e-03, -1.98412698298579493134e-04,
          2.75573137070700676789e-06, -2.50507602534068634195e-08, 1.58969099521155010221e-10)
_COS64 = (4.16666666666666019037e-02, -1.38888888888741095749e-03, 2.48015872894767294178e-05,
          -2.75573143513906633035e-07, 2.08757232129817482790e-09, -1.13596475577881948265e-11)


def _pair64(w0, w1, w2, w3, sel, bits, flt, rot):
    """Two float64 normals from four words: 52-bit radius and angle uniforms."""
    v = (w0 << _S20) | (w1 >> _S12)
    u = np.float64(v + v + _B1) * _P53  # (2v + 1)·2^-53 in (0, 1), exact
    b = bits(u)
    e = np.float64(b >> _S52) - _E1022
    m = flt((b & _MANT64) | _HALF64)
    small = m < _SQH64
    e = sel(small, e - 1.0, e)
    f = sel(small, m + m - 1.0, m - 1.0)
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    R = z * (_LG[0] + w * (_LG[2] + w * (_LG[4] + w * _LG[6]))) + w * (_LG[1] + w * (_LG[3] + w * _LG[5]))
    hfsq = 0.5 * f * f
    lg = e * _LN2HI64 - ((hfsq - (s * (hfsq + R) + e * _LN2LO64)) - f)
    r = np.sqrt(-2.0 * lg)
    q = w2 >> _S30
    a = (np.float64(((w2 & _M30) << _S22) | (w3 >> _S10)) * _P52 - 0.5) * (math.pi / 2)
    z = a * a
    S = _SIN64
    sn = a + (z * a) * (S[0] + z * (S[1] + z * (S[2] + z * (S[3] + z * (S[4] + z * S[5])))))
    C = _COS64
    rc = z * (C[0] + z * (C[1] + z * (C[2] + z * (C[3] + z * (C[4] + z * C[5])))))
    hz = 0.5 * z
    wc = 1.0 - hz
    cs = wc + (((1.0 - wc) - hz) + z * rc)
    return rot(r, sn, cs, q, sel, np.float64, 1.0, 2.0)


# --------------------------------------------------------------------------------------
# numpy execution

def philox4x32(counter, key):
    """Philox4x32-10 of ``counter`` (…, 4) uint32 words under ``key`` (2,) words.

    Returns an array (…, 4) of uint32 (Random123's known answers are in the tests).
    """
    c = np.asarray(counter, dtype=np.uint64)
    k = np.asarray(key, dtype=np.uint64)
    out = _philox(c[..., 0], c[..., 1], c[..., 2], c[..., 3], k[0], k[1], _round)
    return np.stack(out, axis=-1).astype(np.uint32)


def block_seed(root: np.random.SeedSequence, block: int) -> np.random.SeedSequence:
    """The SeedSequence owned by logical block ``block``: ``root.spawn``'s child ``block``."""
    return np.random.SeedSequence(root.entropy, spawn_key=tuple(root.spawn_key) + (int(block),),
                                  pool_size=root.pool_size)


def block_generator(root: np.random.SeedSequence, block: int) -> np.random.Generator:
    """The SFC64 Generator owned by logical block ``block`` (the default stream)."""
    return np.random.Generator(np.random.SFC64(block_seed(root, block)))


def block_key(root, block):
    """The three uint64-held words (k0, k1, c3) of logical block ``block``'s Philox stream."""
    return block_seed(root, block).generate_state(3, np.uint32).astype(np.uint64)


def block_streams(normals, root, blocks):
    """Per logical block what a compiled kernel draws from: the block's SFC64 Generator
    (``"sfc64"``) or its Philox key (``"philox"``)."""
    if normals == "philox":
        return [block_key(root, b) for b in blocks]
    return [block_generator(root, b) for b in blocks]


def _np_bits(dtype):
    ints = np.uint32 if dtype == np.float32 else np.uint64
    return (lambda x: np.asarray(x).view(ints)), (lambda i: np.asarray(i).view(dtype))


def normals(key, tau, n, dtype=np.float64):
    """Numbers ``0 … n−1`` of interval ``tau`` of the stream ``key`` (:func:`block_key`), numpy.

    Parameters
    ----------
    key : ndarray (3,) uint64
    tau : int ≥ 0
        Interval index ((step − 1)·n_terms + term)·substeps + substep.
    n : int ≥ 0
    dtype : float32 or float64
    """
    dtype = np.dtype(dtype)
    per = 4 if dtype == np.float32 else 2
    c0 = np.arange(-(-int(n) // per), dtype=np.uint64)
    tau = int(tau)
    w = _philox(c0, _U64(tau & 0xFFFFFFFF), _U64(tau >> 32), _U64(key[2]), _U64(key[0]), _U64(key[1]), _round)
    bits, flt = _np_bits(dtype.type)
    if per == 4:
        z = (*_pair32(w[0], w[1], np.where, bits, flt, _rotate), *_pair32(w[2], w[3], np.where, bits, flt, _rotate))
    else:
        z = _pair64(w[0], w[1], w[2], w[3], np.where, bits, flt, _rotate)
    return np.stack(z, axis=-1).reshape(-1)[:n]


class PhiloxSource:
    """The numpy backend's per-step noise from :func:`normals`; same interface and buffer
    shape as :class:`dynopt.engine.brownian.NoiseSource` (``draw()`` → (n_terms, rows, m))."""

    def __init__(self, root, layout, first_block, last_block, n_terms=1, noise_dim=1, substeps=1,
                 dtype=np.float64):
        self.keys = [block_key(root, b) for b in range(first_block, last_block)]
        off = layout.block_rows(first_block)[0]
        self.local = [(a - off, e - off) for a, e in (layout.block_rows(b) for b in range(first_block, last_block))]
        self.dtype = np.dtype(dtype)
        self.n_terms, self.m, self.r = int(n_terms), int(noise_dim), int(substeps)
        self.buf = np.empty((self.n_terms, self.local[-1][1], self.m), dtype=self.dtype)
        self.k = 0

    def draw(self):
        """Fill and return the buffer with the next step's normals."""
        self.k += 1
        nt, r, m = self.n_terms, self.r, self.m
        for key, (a, b) in zip(self.keys, self.local):
            fine = np.empty((nt, r, b - a, m), dtype=self.dtype)
            for t in range(nt):
                for s in range(r):
                    tau = ((self.k - 1) * nt + t) * r + s
                    fine[t, s] = normals(key, tau, (b - a) * m, self.dtype).reshape(b - a, m)
            self.buf[:, a:b] = fine[:, 0] if r == 1 else np.sum(fine, axis=1)
        if r > 1:
            self.buf *= self.dtype.type(1.0 / math.sqrt(r))
        return self.buf


# --------------------------------------------------------------------------------------
# numba execution

_JIT: dict = {}


def _numba_parts():
    """The one definition compiled with numba, every helper inlined into its caller."""
    from llvmlite import ir
    from numba import njit, types
    from numba.extending import intrinsic

    def bitcast(src, dst, lldst):
        @intrinsic
        def cast(typingctx, x):
            def codegen(context, builder, sig, args):
                return builder.bitcast(args[0], lldst)
            return dst(src), codegen
        return cast

    inline = njit(inline="always")

    def sel(c, a, b):
        return a if c else b

    return {"round": inline(_round), "philox": inline(_philox), "pair32": inline(_pair32),
            "pair64": inline(_pair64), "sel": inline(sel), "rotate": inline(_rotate), "njit": njit,
            "f32": (bitcast(types.float32, types.uint32, ir.IntType(32)),
                    bitcast(types.uint32, types.float32, ir.FloatType())),
            "f64": (bitcast(types.float64, types.uint64, ir.IntType(64)),
                    bitcast(types.uint64, types.float64, ir.DoubleType()))}


def _fill_functions(P):
    """``fill(key, tau, out)`` for float32 and float64 from the compiled parts ``P``."""
    rnd, philox, pair32, pair64, sel, rot = P["round"], P["philox"], P["pair32"], P["pair64"], P["sel"], P["rotate"]
    b32, f32 = P["f32"]
    b64, f64 = P["f64"]

    def fill32(key, tau, out):
        c1, c2 = np.uint64(tau) & _MASK32, np.uint64(tau) >> _S32
        k0, k1, c3 = key[0], key[1], key[2]  # in locals: stores to ``out`` could alias ``key``
        n = out.shape[0]
        full = n // 4
        for i in range(full):
            w0, w1, w2, w3 = philox(np.uint64(i), c1, c2, c3, k0, k1, rnd)
            z0, z1 = pair32(w0, w1, sel, b32, f32, rot)
            z2, z3 = pair32(w2, w3, sel, b32, f32, rot)
            out[4 * i] = z0
            out[4 * i + 1] = z1
            out[4 * i + 2] = z2
            out[4 * i + 3] = z3
        if 4 * full < n:
            w0, w1, w2, w3 = philox(np.uint64(full), c1, c2, c3, k0, k1, rnd)
            z0, z1 = pair32(w0, w1, sel, b32, f32, rot)
            z2, z3 = pair32(w2, w3, sel, b32, f32, rot)
            last = (z0, z1, z2, z3)
            for j in range(n - 4 * full):
                out[4 * full + j] = last[j]

    def fill64(key, tau, out):
        c1, c2 = np.uint64(tau) & _MASK32, np.uint64(tau) >> _S32
        k0, k1, c3 = key[0], key[1], key[2]  # in locals: stores to ``out`` could alias ``key``
        n = out.shape[0]
        full = n // 2
        for i in range(full):
            w0, w1, w2, w3 = philox(np.uint64(i), c1, c2, c3, k0, k1, rnd)
            z0, z1 = pair64(w0, w1, w2, w3, sel, b64, f64, rot)
            out[2 * i] = z0
            out[2 * i + 1] = z1
        if 2 * full < n:
            w0, w1, w2, w3 = philox(np.uint64(full), c1, c2, c3, k0, k1, rnd)
            out[n - 1] = pair64(w0, w1, w2, w3, sel, b64, f64, rot)[0]

    return fill32, fill64


def jit_fill(dtype):
    """numba's ``fill(key, tau, out)``: ``out[:] = normals(key, tau, out.size, out.dtype)``,
    bit for bit, for a 1-D contiguous ``out`` of ``dtype`` ("float32" or "float64").
    Callable from other numba functions (the compiled kernels call it once per buffer)."""
    name = np.dtype(dtype).name
    if name not in _JIT:
        parts = _numba_parts()
        fill32, fill64 = _fill_functions(parts)
        njit = parts["njit"]
        # numpy's error model: a Python-style zero-division check in ln's s = f/(2 + f)
        # (f + 2 ≥ 1.4 here) would be a branch that stops vectorisation
        _JIT["float32"] = njit(nogil=True, error_model="numpy")(fill32)
        _JIT["float64"] = njit(nogil=True, error_model="numpy")(fill64)
    return _JIT[name]


def normals_rate(dtype=np.float32, n=2 ** 14, seconds=1.0, backend="numba"):
    """Normals per second of process time from this source into a buffer of ``n``
    (``backend`` "numba": the compiled fill; "numpy": :func:`normals`)."""
    key = block_key(np.random.SeedSequence(0), 0)
    buf = np.empty(n, dtype=dtype)
    fill = jit_fill(dtype) if backend == "numba" else None
    if fill is not None:
        fill(key, 0, buf)
    reps, tic = 0, time.process_time()
    while True:
        for _ in range(20):
            if fill is not None:
                fill(key, reps, buf)
            else:
                buf[:] = normals(key, reps, n, dtype)
            reps += 1
        spent = time.process_time() - tic
        if spent >= seconds:
            return reps * n / spent
