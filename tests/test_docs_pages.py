"""The generated pages of the documentation site: the ledger pages show every committed
claim with the verdict of its claims.json, and the API pages document every public name."""
import html
import importlib
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "docs"))

ledger_pages = importlib.import_module("ledger_pages")


def test_ledger_pages_show_every_claim_with_its_committed_verdict(tmp_path):
    out = tmp_path / "ledger"
    sources = ledger_pages.write_ledger_pages(ROOT / "papers", out, tmp_path)
    committed = {p.parent.name: json.loads(p.read_text(encoding="utf-8"))
                 for p in (ROOT / "papers").glob("*/claims.json")}
    assert sorted(sources) == sorted(committed)
    n_claims = 0
    for source, claims in committed.items():
        text = (out / f"{source}.rst").read_text(encoding="utf-8")
        shown = dict(re.findall(r'data-claim="([^"]+)" data-verdict="([^"]+)"', text))
        assert {html.unescape(k): v for k, v in shown.items()} == {c["id"]: c["verdict"] for c in claims}
        for c in claims:
            for fig in c["figures"]:
                assert f"papers/{source}/{fig}" in text
        n_claims += len(claims)
    index = (out / "index.rst").read_text(encoding="utf-8")
    assert f"{n_claims} claims from {len(committed)} sources" in index


def test_ledger_page_verdict_follows_claims_json(tmp_path):
    """A verdict changed in claims.json changes on the page (the page is not a copy)."""
    papers = tmp_path / "papers"
    src = papers / "demo-2000"
    src.mkdir(parents=True)
    claim = {"id": "demo-2000.x", "source": "demo-2000", "statement": "a | b *c* `d`", "method": "numeric",
             "verdict": "refuted", "expected": {"a": 1}, "measured": {"a": 2}, "tolerance": 0.1,
             "correction": None, "evidence": {"n": 3}, "figures": []}
    (src / "claims.json").write_text(json.dumps([claim]), encoding="utf-8")
    ledger_pages.write_ledger_pages(papers, tmp_path / "out", tmp_path)
    text = (tmp_path / "out" / "demo-2000.rst").read_text(encoding="utf-8")
    assert 'data-verdict="refuted"' in text and "demo-2000.x — refuted" in text
    assert "a | b *c* `d`" in text  # statement shown verbatim (HTML-escaped only)


def test_api_pages_document_every_public_name():
    api_pages = importlib.import_module("api_pages")
    documented = set()
    for _, _, sections in api_pages.layout():
        for modname, names in sections:
            mod = importlib.import_module(modname)
            documented |= {id(getattr(mod, n)) for n in names}
    for pkg, _ in api_pages.MODULES:
        mod = importlib.import_module(pkg)
        for name in api_pages.public_names(pkg):
            assert id(getattr(mod, name)) in documented, f"{pkg}.{name}"


@pytest.mark.parametrize("name", ["GibbsDensity", "user_stationary_density", "MomentumScheme", "compare"])
def test_names_from_the_readme_have_a_home(name):
    api_pages = importlib.import_module("api_pages")
    homes = set(api_pages.homes().values())
    assert any(h.endswith("." + name) for h in homes), name


def _guide_blocks():
    blocks = []
    for page in sorted((ROOT / "docs").rglob("*.rst")):
        if "_build" in page.parts or "auto_examples" in page.parts:
            continue
        text = page.read_text(encoding="utf-8")
        for i, m in enumerate(re.finditer(r"\.\. code-block:: python\n\n((?:   .*\n|\n)+)", text)):
            code = "\n".join(line[3:] for line in m.group(1).splitlines())
            blocks.append(pytest.param(code, id=f"{page.relative_to(ROOT / 'docs').with_suffix('')}-{i}"))
    return blocks


@pytest.mark.parametrize("code", _guide_blocks())
def test_guide_python_blocks_run(code):
    """The Python examples of the getting-started page and the user guide run as written
    (a claim's definition is only compiled: registering it would add to the ledger)."""
    compiled = compile(code, "docs", "exec")
    if "@claim(" in code:
        return
    exec(compiled, {"__name__": "docs_example"})
