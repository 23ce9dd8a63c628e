"""The analysis commands answer bad input with one line on stderr and a non-zero exit, never a traceback."""
import subprocess
import sys

import pytest

from analysis_fakes import ROOT, make_run, peer
from analysis import collect, fits, plots, tables

# each command with the extra arguments it needs to run at all (plots: no training curves, quick)
COMMANDS = {
    "collect": (collect.main, []),
    "tables": (tables.main, ["--table", "1"]),
    "fits": (fits.main, ["--boot", "5"]),
    "plots": (plots.main, ["--curves", "0"]),
}


def run(name, roots, extra=(), capsys=None, tmp_path=None):
    main, args = COMMANDS[name]
    if name == "plots":
        args = args + ["--out", str(tmp_path / "figs")]
    code = main([str(r) for r in roots] + args + list(extra))
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture
def sweep(tmp_path):
    root = tmp_path / "sweep"
    for seed in (0, 1):
        make_run(root, f"none/seed-{seed}", cfg=peer("none"), student_acc=68.0 + seed, seed=seed)
        make_run(root, f"online/seed-{seed}", cfg=peer("online"), student_acc=70.0 + seed, seed=seed)
        for s in (1.0, 2.0):
            make_run(root, f"s{s}/seed-{seed}", cfg=peer("spaced", s), student_acc=71.0 + seed, seed=seed)
    return root


@pytest.mark.parametrize("name", COMMANDS)
def test_missing_path(name, tmp_path, capsys):
    code, out, err = run(name, [tmp_path / "nope"], capsys=capsys, tmp_path=tmp_path)
    assert code != 0 and out == ""
    assert one_line(err) == f"error: no such sweep root or run directory: {tmp_path / 'nope'}"


@pytest.mark.parametrize("name", COMMANDS)
def test_empty_root(name, tmp_path, capsys):
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    code, out, err = run(name, [tmp_path / "empty"], capsys=capsys, tmp_path=tmp_path)
    assert code != 0 and out == ""
    assert one_line(err) == f"error: no run directories under {tmp_path / 'empty'}"


@pytest.mark.parametrize("name", COMMANDS)
def test_unknown_where_key(name, sweep, tmp_path, capsys):
    code, out, err = run(name, [sweep], ["--where", "intreval=1.5"], capsys=capsys, tmp_path=tmp_path)
    assert code != 0 and out == ""
    line = one_line(err)
    assert line.startswith("error: --where intreval: no such column; it could be one of:")
    assert "interval" in line.split(":", 3)[-1].split(", ")[0]  # the look-alike comes first


@pytest.mark.parametrize("name", COMMANDS)
def test_corrupt_summary_is_reported_as_unreadable(name, sweep, tmp_path, capsys):
    bad = sweep / "s1.0" / "seed-0" / "summary.json"
    bad.write_text('{"status": "compl')
    code, out, err = run(name, [sweep], capsys=capsys, tmp_path=tmp_path)
    assert code != 0
    assert out  # the rest is still reported
    line = one_line(err)
    assert "unreadable summary.json" in line and str(bad) in line


def test_collect_lists_a_corrupt_summary_as_unreadable(sweep, tmp_path, capsys):
    (sweep / "s1.0" / "seed-0" / "summary.json").write_text("garbage")
    code, out, err = run("collect", [sweep], capsys=capsys, tmp_path=tmp_path)
    assert code == 1
    assert sum("unreadable" in ln for ln in out.splitlines()) == 1
    assert "1 unreadable" in err and "no_summary" not in err


def test_table_cell_counts_an_unreadable_run_as_such(sweep, tmp_path, capsys):
    for seed in (0, 1):
        (sweep / "s2.0" / f"seed-{seed}" / "summary.json").write_text("garbage")
    code, out, err = run("tables", [sweep], ["--table", "6"], capsys=capsys, tmp_path=tmp_path)
    assert code == 1 and "n/a (2 unreadable)" in out


def test_where_filters_every_command(sweep, tmp_path, capsys):
    code, out, err = run("collect", [sweep], ["--where", "kd=online"], capsys=capsys, tmp_path=tmp_path)
    assert code == 0 and "2 runs: 2 completed" in err
    code, out, err = run("tables", [sweep], ["--where", "kd=none,online"], capsys=capsys, tmp_path=tmp_path)
    assert code == 0 and "missing" in out  # w/ Ours has no run left


@pytest.mark.parametrize("name", COMMANDS)
def test_python_dash_m_prints_one_line(name, tmp_path):
    """The module entry points themselves (sys.exit(main())), as a user runs them."""
    done = subprocess.run([sys.executable, "-m", f"analysis.{name}", str(tmp_path / "nope")] + COMMANDS[name][1],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"error: no such sweep root or run directory: {tmp_path / 'nope'}"]
