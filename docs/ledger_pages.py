"""Ledger pages for the documentation site, written from the committed reports.

Each ``papers/<source>/claims.json`` becomes one reST page with every claim's statement,
verdict, expected and measured values, tolerance, correction, evidence and figures; the
figures are the committed PNGs.  Nothing is re-run: the pages show exactly what
``dynopt reproduce`` last wrote.
"""
from __future__ import annotations

import html
import json
import unicodedata
from pathlib import Path

VERDICT_ORDER = ("confirmed", "corrected", "refuted")


def source_title(source_dir: Path) -> tuple[str, str]:
    """The title and citation line of a source, read from its committed README.

    Parameters
    ----------
    source_dir : Path
        ``papers/<source>``.

    Returns
    -------
    title, citation : str
        The text after ``# <source>:`` on the first line, and the first paragraph after it
        (empty when the README has none before its table).
    """
    readme = source_dir / "README.md"
    if not readme.exists():
        return source_dir.name, ""
    lines = readme.read_text(encoding="utf-8").splitlines()
    head = lines[0].lstrip("# ").strip() if lines else source_dir.name
    title = head.split(":", 1)[1].strip() if head.startswith(source_dir.name + ":") else head
    citation = ""
    for line in lines[1:]:
        if not line.strip():
            if citation:
                break
            continue
        if line.startswith(("Written by", "|", "#")):
            break
        citation = (citation + " " + line.strip()).strip()
    return title, citation


def load_claims(source_dir: Path) -> list[dict]:
    """The claims of one source as committed in ``claims.json``."""
    return json.loads((source_dir / "claims.json").read_text(encoding="utf-8"))


def _compact(value) -> str:
    return html.escape(json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(", ", ": ")))


#: nesting of dicts shown as tables inside tables; deeper values are compact JSON
MAX_DEPTH = 3


def _cell(value, depth: int = 0) -> str:
    """A value as HTML: a dict as a table of its keys (nested dicts as nested tables, up to
    :data:`MAX_DEPTH`), a string as text, anything else as compact JSON."""
    if value is None:
        return "<em>none</em>"
    if isinstance(value, dict) and value and depth < MAX_DEPTH:
        rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{_leaf(v, depth + 1)}</td></tr>"
                       for k, v in value.items())
        return f'<table class="claim-values">{rows}</table>'
    if isinstance(value, str):
        return html.escape(value)
    return f"<code>{_compact(value)}</code>"


def _leaf(value, depth: int) -> str:
    # inside a table a string is quoted like the other JSON values, so "1" and 1 differ
    if isinstance(value, dict) and value and depth < MAX_DEPTH:
        return _cell(value, depth)
    return f"<code>{_compact(value)}</code>"


def _heading(text: str, char: str) -> str:
    # wide (CJK) characters take two columns; docutils wants the underline at least as wide
    width = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return f"{text}\n{char * width}\n"


def _indent(block: str, prefix: str = "   ") -> str:
    return "\n".join(prefix + line if line else "" for line in block.splitlines())


def claim_block(c: dict, source_dir: Path, page_dir: Path) -> str:
    """The reST of one claim: heading, statement, result table, evidence, figures."""
    verdict = c.get("verdict") or "error"
    rows = [("method", html.escape(str(c.get("method")))),
            ("verdict", f'<span class="verdict verdict-{html.escape(verdict)}">{html.escape(verdict)}</span>')]
    rows += [(k, _cell(c.get(k))) for k in ("expected", "measured", "tolerance", "correction")]
    table = "\n".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    # the statement's line breaks are source wrapping; blank lines separate paragraphs
    paragraphs = [" ".join(p.split()) for p in str(c.get("statement", "")).split("\n\n") if p.strip()]
    statement = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    raw = (f'<blockquote class="claim-statement">{statement}</blockquote>\n'
           f'<table class="claim-table" data-claim="{html.escape(c["id"])}" data-verdict="{html.escape(verdict)}">\n'
           f"{table}\n</table>\n"
           f"<details class=\"claim-evidence\"><summary>evidence</summary>{_cell(c.get('evidence'))}</details>")
    out = [f".. _claim-{c['id']}:\n", _heading(f"{c['id']} — {verdict}", "-"),
           ".. raw:: html\n", _indent(raw), ""]
    for fig in c.get("figures") or []:
        path = source_dir / fig
        out += [f".. figure:: /{_rel_to_src(path)}", "   :width: 100%", f"   :alt: {fig}", "",
                f"   ``{fig}``", ""]
    return "\n".join(out)


_SRC_ROOT: Path | None = None


def _rel_to_src(path: Path) -> str:
    # a path "absolute" in Sphinx's sense (from the source directory), even for files
    # outside it: Sphinx resolves ``/../papers/...`` against the source directory
    import os
    return Path(os.path.relpath(path.resolve(), _SRC_ROOT)).as_posix()


def write_ledger_pages(papers: Path, out_dir: Path, src_root: Path) -> list[str]:
    """Write ``index.rst`` and one page per source into `out_dir`.

    Parameters
    ----------
    papers : Path
        The ``papers/`` folder with ``<source>/claims.json`` and figures.
    out_dir : Path
        Folder for the generated pages (replaced files only, never deleted).
    src_root : Path
        The Sphinx source directory; figure paths are written relative to it.

    Returns
    -------
    list of str
        The source ids, in page order.
    """
    global _SRC_ROOT
    _SRC_ROOT = src_root.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    sources = sorted(p.parent for p in papers.glob("*/claims.json"))
    summary = []
    for sdir in sources:
        claims = load_claims(sdir)
        title, citation = source_title(sdir)
        counts = {v: sum(c.get("verdict") == v for c in claims) for v in VERDICT_ORDER}
        summary.append((sdir.name, title, len(claims), counts))
        lines = [f".. _ledger-{sdir.name}:\n", _heading(f"{sdir.name}: {_escape(title)}", "=")]
        if citation:
            lines += [".. raw:: html\n", _indent(f'<p class="citation-line">{html.escape(citation)}</p>'), ""]
        lines += [f"{len(claims)} claim{'' if len(claims) == 1 else 's'}: " + ", ".join(f"{n} {v}" for v, n in counts.items()) + ".",
                  "Generated from the committed ``papers/" + sdir.name + "/claims.json`` and figures"
                  " (written by ``dynopt reproduce``); the docs build does not re-run them.", "",
                  ".. list-table::", "   :header-rows: 1", "", "   * - claim", "     - method", "     - verdict"]
        for c in claims:
            lines += [f"   * - :ref:`{c['id']} <claim-{c['id']}>`", f"     - {c.get('method')}",
                      f"     - {c.get('verdict') or 'error'}"]
        lines.append("")
        for c in claims:
            lines.append(claim_block(c, sdir, out_dir))
        (out_dir / f"{sdir.name}.rst").write_text("\n".join(lines) + "\n", encoding="utf-8")
    total = sum(n for _, _, n, _ in summary)
    index = [".. _ledger:\n", _heading("The claims ledger", "="),
             f"{total} claims from {len(summary)} sources, each with a computed verdict. These pages are"
             " generated at docs build time from the committed ``papers/*/claims.json`` and figures;"
             " :doc:`/guide/ledger` explains how a claim is written and judged.", "",
             ".. list-table::", "   :header-rows: 1", "   :widths: 18 50 8 8 8 8", "",
             "   * - source", "     - title", "     - claims", "     - confirmed", "     - corrected", "     - refuted"]
    for name, title, n, counts in summary:
        index += [f"   * - :doc:`{name}`", f"     - {_escape(title)}", f"     - {n}"] + \
                 [f"     - {counts[v]}" for v in VERDICT_ORDER]
    # the sidebar lists sources by id; each page's heading carries the full title
    index += ["", ".. toctree::", "   :hidden:", ""] + [f"   {name} <{name}>" for name, *_ in summary]
    (out_dir / "index.rst").write_text("\n".join(index) + "\n", encoding="utf-8")
    return [name for name, *_ in summary]


def _escape(text: str) -> str:
    for ch in "\\*`|_":
        text = text.replace(ch, "\\" + ch)
    return text
