"""evaluate.py as a user runs it: one line per probe, probes.json, one-line errors; train.py probes=[…]."""
import json
import os
import subprocess
import sys

import pytest

from helpers import FAST, ROOT, summary, train

TINY = ["batch_size=64", "flatness.sigmas=[0,0.05]", "flatness.samples=2", "flatness.max_samples=64",
        "corruptions.severities=[1,5]", "corruptions.max_samples=32", "hessian.probes=3", "hessian.batches=1",
        "hessian.batch_size=32", "hessian.power_iters=3"]


def evaluate(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    return subprocess.run([sys.executable, str(ROOT / "evaluate.py"), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def one_line_error(r: subprocess.CompletedProcess) -> str:
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    return lines[0]


# the rest of the bad inputs (unknown probe or corruption, bad settings) are checked in-process in
# test_probes_runner.py; these three cover the entry point's handling: one line, exit 2
@pytest.mark.parametrize("args, expected", [
    ([], "error: run_dir is required"),
    (["run_dir=RUN"], "has no checkpoint"),
    (["run_dir=RUN", "probe=corruptions", "corruptions.severities=[6]"], "severity must be an integer in 1..5, got 6"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, expected):
    (tmp_path / ".hydra").mkdir()
    (tmp_path / ".hydra" / "config.yaml").write_text("seed: 0\n")
    r = evaluate(*[a.replace("RUN", str(tmp_path)) for a in args])
    assert expected in one_line_error(r)
    assert not (tmp_path / "probes.json").exists()


def test_train_with_an_unknown_probe_fails_before_training(run_dir):
    r = train(*FAST, "probes=[bim,sharpness]", f"hydra.run.dir={run_dir}")
    assert "unknown probe 'sharpness'" in one_line_error(r)
    assert not (run_dir / "checkpoints").exists()


@pytest.mark.slow
def test_train_then_evaluate_end_to_end(tmp_path):
    run = tmp_path / "run"
    r = train(*FAST, "kd=online", "probes=[bim]", f"hydra.run.dir={run}")
    assert r.returncode == 0, r.stderr
    assert summary(run)["status"] == "completed"
    assert "bim" in r.stdout and set(json.loads((run / "probes.json").read_text())) == {"bim", "meta"}

    r = evaluate(f"run_dir={run}", "probe=flatness,corruptions,hessian", *TINY)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    for name in ("flatness", "corruptions", "hessian"):
        assert sum(ln.startswith(name) for ln in lines) == 1, r.stdout
    data = json.loads((run / "probes.json").read_text())
    assert set(data) == {"flatness", "corruptions", "bim", "hessian", "meta"}  # bim kept from training
    assert set(data["corruptions"]) == {"impulse_noise", "zoom_blur", "snow", "frost", "jpeg_compression", "brightness"}
    assert not (run / "evaluate.log").exists() and (run / ".hydra" / "config.yaml").read_text().startswith("model:")
    # each result says what it measured: the final checkpoint of the completed run, the same one
    # that training's own bim probe saw
    record = summary(run)
    probed = {name: data["meta"][name]["run"] for name in ("flatness", "corruptions", "bim", "hessian")}
    assert probed["hessian"]["status"] == "completed" and probed["hessian"]["step"] == record["steps"]
    assert probed["hessian"]["events_done"] == probed["hessian"]["events"] == record["events"]
    assert len({json.dumps(p, sort_keys=True) for p in probed.values()}) == 1
    assert "measured on another checkpoint" not in r.stdout

    # a sweep over run directories: the good one is evaluated, the bad one reported, exit 1
    r = evaluate("-m", f"run_dir={run},{tmp_path / 'missing'}", "probe=bim,hessian", *TINY, "bim.steps=1")
    assert r.returncode == 1
    assert "missing does not exist" in r.stderr and "probes failed on 1 run(s)" in r.stderr
    assert json.loads((run / "probes.json").read_text())["bim"]["steps"] == 1
