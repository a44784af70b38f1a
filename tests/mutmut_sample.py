"""A seeded uniform sample of mutmut mutants, run and scored (see tests/README.md).

Run from the scratch copy's root (the folder holding ``setup.cfg`` and ``mutants/``)::

    python tests/mutmut_sample.py draw SEED N > sample.txt   # after mutants are generated
    python tests/mutmut_sample.py stats                      # coverage pass, saved for mutmut
    python tests/mutmut_sample.py run $(cat sample.txt)      # the named mutants only
    python tests/mutmut_sample.py score sample.txt [equivalent.txt]

``stats`` runs mutmut's own coverage pass in this process rather than in mutmut's fork
server (on this machine the fork-server pass stopped with an exit code and no output);
``run`` skips mutmut's clean pass over the sample's tests, which reruns nearly the whole
suite: the suite is checked green under mutmut's trampolines by ``stats`` itself.
"""

import json
import os
import sys
from collections import Counter, defaultdict
from pathlib import Path

PACKAGES = ("engine", "schemes", "analysis")


def draw(seed, n):
    """Print ``n`` mutant names drawn uniformly without replacement over PACKAGES."""
    import numpy as np

    keys = sorted(
        k
        for pkg in PACKAGES
        for f in sorted(Path("mutants/dynopt", pkg).glob("*.py.meta"))
        for k in json.loads(f.read_text())["exit_code_by_key"]
    )
    print(f"{len(keys)} mutants in {', '.join(PACKAGES)}", file=sys.stderr)
    perm = np.random.default_rng(seed).permutation(len(keys))
    print("\n".join(keys[i] for i in perm[:n]))


def stats():
    """mutmut's coverage pass (which tests reach which function), saved where mutmut loads it."""
    from mutmut.__main__ import save_stats
    from mutmut.configuration import config
    from mutmut.mutation.trampoline import set_mutant_under_test
    from mutmut.runners.harness import PytestRunner
    from mutmut.state import state

    config()
    set_mutant_under_test("stats")
    os.environ["PY_IGNORE_IMPORTMISMATCH"] = "1"
    os.environ["MUTMUT_DEPENDENCY_DEPTH"] = "-1"
    sys.path.insert(0, os.path.abspath("mutants"))
    code = PytestRunner().run_stats(tests=[])
    if code != 0:
        raise SystemExit(f"the coverage pass failed (pytest exit code {code})")
    state().stats_time = 0.0
    save_stats()


def run(names):
    """``mutmut run --max-children 2 NAMES`` without the clean pass."""
    from mutmut.workers import isolation

    for cls in vars(isolation).values():
        if isinstance(cls, type) and "run_clean_tests" in vars(cls):
            cls.run_clean_tests = lambda self, tests: 0
    from mutmut.__main__ import cli

    sys.argv = ["mutmut", "run", "--max-children", "2", *names]
    cli()


def score(sample, equivalent=None):
    """Killed (a timeout counts as killed) over sampled, per package, with Wilson 95 % intervals."""
    from mutmut.stats import status_by_exit_code
    from scipy.stats import binomtest

    names = Path(sample).read_text().split()
    eq = set(Path(equivalent).read_text().split()) if equivalent else set()
    codes = {}
    for f in Path("mutants/dynopt").glob("*/*.py.meta"):
        codes.update(json.loads(f.read_text())["exit_code_by_key"])

    def ci(k, n):
        c = binomtest(k, n).proportion_ci(method="wilson")
        return f"{k}/{n} = {100 * k / n:.1f} % [{100 * c.low:.1f}, {100 * c.high:.1f}]"

    counts = defaultdict(Counter)
    survivors = []
    for name in names:
        status = status_by_exit_code[codes.get(name)]
        for group in ("all", name.split(".")[1]):
            counts[group][status] += 1
        if status not in ("killed", "timeout"):
            survivors.append((status, name))
    for group, c in counts.items():
        k, n = c["killed"] + c["timeout"], sum(c.values())
        m = sum(1 for _, s in survivors if s in eq and group in ("all", s.split(".")[1]))
        print(f"{group}: {dict(c)}  score {ci(k, n)}")
        if eq:
            print(f"   equivalent left out: {ci(k, n - m)}   equivalent counted as killed: {ci(k + m, n)}")
    for status, name in survivors:
        print(f"  {status}: {name}{'  (equivalent)' if name in eq else ''}")


if __name__ == "__main__":  # multiprocessing's spawn (dask workers in tests) re-imports this file
    command, args = sys.argv[1], sys.argv[2:]
    if command == "draw":
        draw(int(args[0]), int(args[1]))
    elif command == "stats":
        stats()
    elif command == "run":
        run(args)
    elif command == "score":
        score(*args)
    else:
        raise SystemExit(f"command must be draw, stats, run or score, not {command!r}")
