"""First passage compiled into a fused SDE kernel: the crossing test, absorption and the
Brownian-bridge hazard, per step and per path, inside the kernel's time loop.

Why a transform of the generated text rather than new templates: the passage test is the
same for every scheme (it reads one output component after the step), so it is added to the
source :mod:`dynopt.engine.codegen` builds for the scheme's traced step — after the
divergence check, as the numpy backend observes after killing blown-up paths.

What the added lines do, at every step ``k`` that is a multiple of ``p_every`` (the
observer's ``every``), for every path still running (alive, not absorbed) that has not yet
passed:

* the condition ``y[coord] >= level`` (or ``<=``) sets ``pstep[i] = k``; an absorbing
  observer then stops the path (``alive[i] = False``, ``done[i] = True``): its state stays
  the state at which it passed, which is what the numpy backend keeps as its final state;
* with a bridge, a path that did not pass records ``arg = c·d_prev·d`` (d the signed
  distance to the level) when both distances are positive and the hazard exp(−arg) is not
  negligible; the caller turns the records into hazards and weights with numpy's ``exp``
  (numba's libm ``exp`` differs from numpy's in the last bit), in step order.  When the
  record buffer could overflow the kernel returns the last finished step, and the caller
  empties the buffer and calls again.

With ``absorb="survivors"`` a block draws normals only for its paths not yet absorbed, in
the numpy backend's order (the draw loops skip ``done`` paths).  The kernel returns the
last step it finished (``k1`` unless the record buffer filled up).
"""
from __future__ import annotations

from typing import NamedTuple, Optional

__all__ = ["PassageSpec", "EXTRA_ARGS", "passage_source"]

#: the arguments the passage adds after ``blowup`` in the kernel's signature
EXTRA_ARGS = "pstep, pprev, done, rec_i, rec_k, rec_a, nrec, p_every, level, sign, bcoef, bcut"

_CHECK = "        check = k % check_every == 0 or k == k1"
_STEP_LOOP = "    for k in range(k0 + 1, k1 + 1):"
_PATH_LOOP = "        for i in range(nb):"
_DRAW_LOOP = "            for j in range(nb):"


class PassageSpec(NamedTuple):
    """What a kernel needs to know about the first-passage observer it compiles."""

    coord: int        # output component, 0 <= coord < state_dim
    above: bool       # passage when y[coord] >= level (else <= level)
    absorb: object    # False, True or "survivors"
    bridge: bool      # record Brownian-bridge hazards
    # a region target: (source of ``target_distance(a0, …)``, the state components it reads);
    # the kernel then tests target_distance(…) <= level with level 0 (``above`` False)
    target: Optional[tuple] = None


def _tested(spec):
    """The kernel expression compared with ``level``: one output component ``o<coord>`` of the
    path's new state, or a region target's signed distance of the path's components."""
    if spec.target is None:
        return f"o{spec.coord}"
    return f"target_distance({', '.join(f'o{c}' for c in spec.target[1])})"


def _passage_lines(spec):
    """The per-path passage test, appended at the end of the path loop's body; the kernel
    names the output components of the path's new state ``o0, o1, ...``."""
    lines = ["            if alive[i] and k % p_every == 0 and pstep[i] < 0:",
             f"                yv = {_tested(spec)}",
             f"                if yv {'>=' if spec.above else '<='} level:",
             "                    pstep[i] = k"]
    if spec.absorb:
        lines += ["                    alive[i] = False", "                    done[i] = True"]
    if spec.bridge:
        lines += ["                else:",
                  "                    dd = sign * (level - yv)",
                  "                    pv = pprev[i]",
                  "                    arg = bcoef * pv * dd",
                  "                    if pv > 0 and arg < bcut:",
                  "                        n = nrec[0]",
                  "                        rec_i[n] = i", "                        rec_k[n] = k",
                  "                        rec_a[n] = arg", "                        nrec[0] = n + 1",
                  "                    pprev[i] = dd"]
    return lines


def _insert_after(lines, anchor, new):
    """``lines`` with ``new`` inserted after every line equal to ``anchor``; None if absent."""
    if anchor not in lines:
        return None
    out = []
    for line in lines:
        out.append(line)
        if line == anchor:
            out.extend(new)
    return out


def _inside_path_loop(lines, n):
    """Whether line ``n`` is nested in a loop over the block's paths (so that skipping
    absorbed paths skips its draws)."""
    indent = len(lines[n]) - len(lines[n].lstrip())
    for line in reversed(lines[:n]):
        ind = len(line) - len(line.lstrip())
        if line.strip() and ind < indent:
            if line in (_PATH_LOOP, _DRAW_LOOP):
                return True
            indent = ind
    return False


def passage_source(source, spec: PassageSpec) -> Optional[str]:
    """``source`` (a kernel module from :func:`dynopt.engine.codegen.step_source`) with the
    first passage of ``spec`` compiled into its ``run``; None when the text does not have
    the shape this transform expects (the caller then runs on numpy).

    Parameters
    ----------
    source : str
    spec : PassageSpec
    """
    lines = source.rstrip("\n").split("\n")
    sig = [n for n, line in enumerate(lines) if line.startswith("def run(") and line.endswith(", blowup):")]
    if len(sig) != 1 or lines.count(_CHECK) != 1 or lines.count(_STEP_LOOP) != 1:
        return None
    lines[sig[0]] = lines[sig[0]][:-2] + f", {EXTRA_ARGS}):"
    lines[lines.index(_CHECK)] = _CHECK + " or k % p_every == 0"
    if spec.bridge:
        lines = _insert_after(lines, _STEP_LOOP, ["        if nrec[0] + nb > rec_i.shape[0]:",
                                                  "            return k - 1"])
    if spec.absorb == "survivors":
        # absorbed paths draw nothing: the draw loops (per path, or per block for several
        # terms) skip them, keeping the order of the remaining draws
        lines = _insert_after(lines, _PATH_LOOP, ["            if done[i]:", "                continue"])
        if lines is not None and any("zb[t, j, c] =" in line for line in lines):
            lines = _insert_after(lines, _DRAW_LOOP, ["                if done[j]:", "                    continue"])
        if lines is None or not all(_inside_path_loop(lines, n) for n, line in enumerate(lines)
                                    if "standard_normal" in line):
            return None
    text = "\n".join(lines + _passage_lines(spec) + ["    return k1"]) + "\n"
    return text if spec.target is None else text + "\n\n" + spec.target[0]
