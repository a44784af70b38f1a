"""Concurrent ``dynopt reproduce`` runs into one --out lose nothing; the cache refuses
edited or malformed entries; temp files of a killed run are cleaned at the next start."""
import json
import os
import subprocess
import sys
from pathlib import Path

from dynopt.ledger import Cache
from dynopt.ledger.cache import remove_stale_temp_files

ROOT = Path(__file__).resolve().parents[1]
CLAIMS = ["kexue-5655.eq15-coefficients", "kexue-5655.eq18-coefficients",
          "kexue-5655.eq18-reader-coefficients", "kexue-5655.keras-nesterov-form"]


def test_concurrent_reproduce_of_one_source_loses_no_claim(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    procs = [subprocess.Popen([sys.executable, "-m", "dynopt.cli", "reproduce", cid, "--quick", "--no-progress",
                               "--no-cache", "--out", str(tmp_path), "--papers", str(ROOT / "papers")],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for cid in CLAIMS]
    codes = [p.wait(timeout=300) for p in procs]
    assert codes == [0] * len(CLAIMS)
    rows = json.loads((tmp_path / "kexue-5655" / "claims.json").read_text())
    assert sorted(d["id"] for d in rows) == sorted(CLAIMS)
    readme = (tmp_path / "kexue-5655" / "README.md").read_text()
    assert all(f"`{cid}`" in readme for cid in CLAIMS)
    assert "kexue-5655" in (tmp_path / "README.md").read_text()


def test_cache_entry_edited_by_hand_is_recomputed_with_a_note(tmp_path):
    c = Cache(tmp_path)
    c.put("ab" * 32, {"verdict": "confirmed", "x": 1.5})
    assert c.get("ab" * 32) == {"verdict": "confirmed", "x": 1.5}
    path = tmp_path / "ab" / ("ab" * 32 + ".json")
    path.write_text(path.read_text().replace("confirmed", "refuted"))
    assert c.get("ab" * 32) is None
    assert "signature mismatch" in c.notes[-1]
    path.write_text("[1, 2, 3]")  # valid JSON of the wrong layout
    assert c.get("ab" * 32) is None
    assert "schema" in c.notes[-1]
    path.write_text("{trunc")
    assert c.get("ab" * 32) is None
    assert "JSON" in c.notes[-1]


def test_temp_files_of_a_killed_run_are_removed(tmp_path):
    (tmp_path / ".claims.json.x1y2.tmp").write_text("half")
    (tmp_path / ".fig.png.abc.png").write_bytes(b"")
    (tmp_path / "claims.json").write_text("[]")
    (tmp_path / ".lock").write_text("")
    assert remove_stale_temp_files(tmp_path) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lock", "claims.json"]
