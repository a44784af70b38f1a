import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_readme_starts_with_the_two_setup_commands():
    text = README.read_text(encoding="utf-8")
    bash = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    assert bash[0].strip() == "pip install -e . && dynopt reproduce --quick"
    assert bash[1].strip() == 'pip install -e ".[test]" && pytest'


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_python_blocks_run(code):
    exec(compile(code, str(README), "exec"), {"__name__": "readme"})


def test_readme_own_problem_commands_run(tmp_path, monkeypatch, capsys):
    """The `dynopt` commands of the "your own problem" section run and exit 0."""
    import shlex

    from dynopt.cli.main import main

    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Your own problem"):]
    block = re.findall(r"```bash\n(.*?)```", section, flags=re.S)[0]
    monkeypatch.chdir(tmp_path)
    lines = [ln for ln in block.splitlines() if ln.startswith("dynopt ")]
    assert len(lines) == 3
    for line in lines:
        assert main(shlex.split(line)[1:]) == 0, line
    assert "fokker_planck_residual = 0" in capsys.readouterr().out
