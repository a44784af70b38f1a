"""Sweep figures and tasks: symbol-table labels, tasks from files beside the spec."""
import pytest

from dynopt.sweep import SpecError, load_spec, run_sweep, symbol

TASK = '''
def f(x, seed=None):
    return {"y": x * x, "y_se": 0.1, "ok": x > 1}
'''


def _spec(tmp_path, task, plots=""):
    (tmp_path / "mytasks.py").write_text(TASK)
    spec = tmp_path / "spec.toml"
    spec.write_text(f'task = "{task}"\n[grid]\nx = [0.5, 1.0, 1.5, 2.0]\n{plots}')
    return spec


def test_symbols_of_parameter_names():
    assert symbol("alpha_h") == "αh"
    assert symbol("eta_over_b") == "η/B"
    assert symbol("beta") == "β"
    assert symbol("sigma_max") == "σ max"


@pytest.mark.parametrize("task", ["mytasks.py:f", "mytasks:f"])
def test_a_task_in_a_file_beside_the_spec_runs(tmp_path, task):
    spec = load_spec(_spec(tmp_path, task, '[[plots]]\nkind = "curve"\nx = "x"\ny = "y"\nlogy = true\n'))
    rows = run_sweep(spec, tmp_path / "out", progress=False)
    assert [r["y"] for r in rows] == [0.25, 1.0, 2.25, 4.0]
    assert (tmp_path / "out" / "curve-y.png").stat().st_size > 0


def test_a_missing_task_file_says_where_it_looked(tmp_path):
    with pytest.raises(SpecError, match=r"looked for .*nothere\.py"):
        load_spec(_spec(tmp_path, "nothere.py:f"))
    with pytest.raises(SpecError, match="beside the spec"):
        load_spec(_spec(tmp_path, "mytasks:g"))
