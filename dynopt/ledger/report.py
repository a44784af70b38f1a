"""Reports of the claims ledger: Markdown and JSON, written atomically.

``papers/<source>/README.md`` and ``claims.json`` for each source and the index
``papers/README.md``.  Everything written is deterministic, so that rerunning (on another
machine, in a fresh clone) leaves the committed files byte-identical:

- no timings (``seconds`` goes to the console and the cache only);
- floats at :data:`SIGNIFICANT_DIGITS` significant digits, far above the last-digit noise
  of floating point across machines (quantities that are pure noise below a stated
  resolution are written by the check as :class:`~dynopt.ledger.claims.below`);
- results of checks that need optional packages (evidence key
  :data:`~dynopt.ledger.claims.OPTIONAL_KEY`) go to ``optional.json`` beside the report,
  which is not committed; the report names those checks without their results.
"""
from __future__ import annotations

import json
from pathlib import Path

from dynopt.io import atomic_write_text
from dynopt.ledger.cache import report_lock
from dynopt.ledger.claims import OPTIONAL_KEY, REPORT_KEYS, SOURCES, VERDICTS

__all__ = ["write_reports", "format_value", "source_readme", "index_readme", "load_existing",
           "report_row", "SIGNIFICANT_DIGITS", "OPTIONAL_FILE"]

#: significant digits of every float in the committed reports
SIGNIFICANT_DIGITS = 4
#: per-source file (not committed) with the results of checks that need optional packages
OPTIONAL_FILE = "optional.json"


def _rounded(x):
    """``x`` with every float at SIGNIFICANT_DIGITS significant digits (recursively)."""
    if isinstance(x, dict):
        return {k: _rounded(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_rounded(v) for v in x]
    if isinstance(x, float):
        r = float(f"{x:.{SIGNIFICANT_DIGITS}g}")
        return 0.0 if r == 0 else r  # -0.0 and 0.0 must not differ in the text
    return x


def report_row(d: dict) -> tuple:
    """Split a result dict (``ClaimResult.as_dict()``) into what is committed and what is not.

    Returns
    -------
    (dict, dict or None)
        The row of claims.json (keys REPORT_KEYS, floats rounded, the optional evidence
        replaced by the names of those checks) and the optional evidence (full precision),
        or None when the check has none.
    """
    row = {k: d[k] for k in REPORT_KEYS}
    ev = dict(row["evidence"] or {})
    optional = ev.pop(OPTIONAL_KEY, None)
    if isinstance(optional, dict):
        ev["optional_checks"] = {"results_in": OPTIONAL_FILE + " (not committed: needs optional packages)",
                                 "checks": sorted(optional)}
    row["evidence"] = ev
    return _rounded(row), optional



def format_value(x) -> str:
    """Compact, deterministic text for a JSON-able value in Markdown."""
    if x is None:
        return "—"
    if isinstance(x, float):
        return f"{x:.6g}"
    if isinstance(x, str):
        return x
    return json.dumps(x, ensure_ascii=False, sort_keys=True)


def _md_escape(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def _claim_section(d: dict) -> str:
    lines = [f"### `{d['id']}` — **{d['verdict']}**", "", f"> {d['statement']}", "",
             "| | |", "|---|---|",
             f"| method | {d['method']} |",
             f"| expected | {_md_escape(format_value(d['expected']))} |",
             f"| measured | {_md_escape(format_value(d['measured']))} |",
             f"| tolerance | {_md_escape(format_value(d['tolerance']))} |",
             f"| verdict | **{d['verdict']}** |"]
    if d.get("correction"):
        lines.append(f"| correction | {_md_escape(d['correction'])} |")
    lines.append("")
    ev = d.get("evidence") or {}
    if d["verdict"] == "error":
        lines += ["The check raised (an error of the run, not a verdict):", "", "```",
                  str(ev.get("error", "")).strip(), "```", ""]
    elif ev:
        lines += ["<details><summary>evidence</summary>", "", "```json",
                  json.dumps(ev, indent=1, ensure_ascii=False, sort_keys=True), "```", "",
                  "</details>", ""]
    for fig in d.get("figures", []):
        lines += [f"![{d['id']}]({fig})", ""]
    return "\n".join(lines)


def source_readme(source: str, rows: list) -> str:
    """Markdown report of one source: a verdict table, then each claim with its evidence and figures."""
    meta = SOURCES.get(source, {})
    title = meta.get("title", source)
    out = [f"# {source}: {title}", ""]
    if meta.get("reference"):
        out += [meta["reference"], ""]
    out += ["Written by `dynopt reproduce`; do not edit by hand. "
            "Each verdict is computed by running the check in `claims.py`.", ""]
    out += ["| claim | method | verdict |", "|---|---|---|"]
    for d in rows:
        out.append(f"| [`{d['id']}`](#{_anchor(d)}) | {d['method']} | {d['verdict']} |")
    out.append("")
    run_size = {bool((d.get("evidence") or {}).get("quick")) for d in rows if d["verdict"] != "error"}
    if run_size:
        out += [f"Run size: {'quick (`--quick`)' if run_size == {True} else 'full' if run_size == {False} else 'mixed'}.", ""]
    out += [_claim_section(d) for d in rows]
    return "\n".join(out).rstrip() + "\n"


def _anchor(d):
    # GitHub's heading anchors: lower-case, punctuation dropped, spaces to dashes
    text = f"{d['id']} — {d['verdict']}".lower()
    keep = "".join(ch for ch in text if ch.isalnum() or ch in " -_")
    return keep.replace(" ", "-")


def index_readme(all_rows: dict) -> str:
    """Markdown index of all sources with their verdict counts and links."""
    out = ["# Sources and papers reproduced by dynopt", "",
           "Written by `dynopt reproduce`. Verdict counts per source; follow the link for "
           "each claim's statement, evidence and figures.", "",
           "| source | title | claims | " + " | ".join(VERDICTS) + " | errors |",
           "|---|---|---|" + "---|" * (len(VERDICTS) + 1)]
    for source in sorted(all_rows):
        rows = all_rows[source]
        counts = [sum(d["verdict"] == v for d in rows) for v in VERDICTS]
        errors = sum(d["verdict"] == "error" for d in rows)
        title = SOURCES.get(source, {}).get("title", "")
        out.append(f"| [{source}]({source}/README.md) | {_md_escape(title)} | {len(rows)} | "
                   + " | ".join(map(str, counts)) + f" | {errors} |")
    return "\n".join(out) + "\n"


def load_existing(path: Path) -> list:
    """Rows of an existing claims.json (an unreadable or malformed file counts as empty)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return [d for d in data if isinstance(d, dict) and set(REPORT_KEYS) <= set(d)]
    except (OSError, ValueError):
        return []


def write_reports(results, out_root, registered_ids) -> dict:
    """Write per-source README.md and claims.json and the index README.md.

    Results of claims not run this time are kept from the existing claims.json (if the
    claim is still registered), so running one claim does not erase the others.  Rows are
    written by :func:`report_row` (no timings, rounded floats, optional evidence apart).

    Returns
    -------
    dict
        source -> list of result dicts as written.
    """
    out_root = Path(out_root)
    new, optional = {}, {}
    for r in results:
        d, opt = report_row(r.as_dict())
        new.setdefault(d["source"], {})[d["id"]] = d
        if opt is not None:
            optional.setdefault(d["source"], {})[d["id"]] = opt
    for source in sorted(new):
        path = out_root / source / "claims.json"
        with report_lock(out_root / source):  # read-merge-write is one step for other processes
            merged = {d["id"]: d for d in load_existing(path) if d["id"] in registered_ids}
            merged.update(new[source])
            rows = [merged[k] for k in sorted(merged)]
            atomic_write_text(path, json.dumps(rows, indent=1, ensure_ascii=False) + "\n")
            atomic_write_text(out_root / source / "README.md", source_readme(source, rows))
            if optional.get(source):
                atomic_write_text(out_root / source / OPTIONAL_FILE,
                                  json.dumps(optional[source], indent=1, ensure_ascii=False, sort_keys=True) + "\n")
    with report_lock(out_root):
        all_rows = {}
        for path in sorted(out_root.glob("*/claims.json")):
            rows = [d for d in load_existing(path) if d["id"] in registered_ids]
            if rows:
                all_rows[path.parent.name] = sorted(rows, key=lambda d: d["id"])
        atomic_write_text(out_root / "README.md", index_readme(all_rows))
    return all_rows
