"""run_probes on run directories: probes.json in the contract's format, merged, bad input as UserError."""
import json

import pytest
import yaml
from omegaconf import OmegaConf

from spaced_kd.errors import UserError
from spaced_kd.probes import EvalConfig, load_eval_config, probe_names, run_probes
from spaced_kd.probes.cli import list_overrides, run_dirs
from spaced_kd.probes.runner import PROBES

from helpers import ROOT
from probe_fakes import make_run_dir

SMALL = {
    "batch_size": 64,
    "flatness": {"sigmas": [0.0, 0.1], "samples": 2, "max_samples": 64},
    "corruptions": {"names": ["impulse_noise", "frost"], "severities": [1, 5], "max_samples": 40},
    "bim": {"steps": 2, "max_samples": 40},
    "hessian": {"probes": 3, "batches": 2, "batch_size": 16, "power_iters": 3},
}


@pytest.fixture(scope="module")
def peer_run(tmp_path_factory):
    return make_run_dir(tmp_path_factory.mktemp("peer") / "run", "kd.name=online")


def test_all_four_probes_write_the_contract(peer_run):
    lines = []
    out = run_probes(peer_run, "all", SMALL, echo=lines.append)
    assert set(out) == {"flatness", "corruptions", "bim", "hessian"}
    data = json.loads((peer_run / "probes.json").read_text())
    flat = data["flatness"]
    assert flat["sigmas"] == [0.0, 0.1] and flat["relative"] is True and flat["samples"] == 2
    for key in ("loss_mean", "loss_std", "acc_mean", "acc_std"):
        assert len(flat[key]) == 2
    assert isinstance(flat["area"], float)
    assert set(data["corruptions"]) == {"impulse_noise", "frost"}
    assert set(data["corruptions"]["frost"]) == {"1", "5"}
    assert all(0 <= a <= 100 for per in data["corruptions"].values() for a in per.values())
    bim = data["bim"]
    assert bim["robust_acc"] <= bim["clean_acc"] and bim["steps"] == 2 and bim["eps"] == pytest.approx(8 / 255)
    hess = data["hessian"]
    assert hess["trace_ci"][0] <= hess["trace"] <= hess["trace_ci"][1]
    assert hess["probes"] == 3 and hess["batches"] == 2 and "top_eigenvalue" in hess
    meta = data["meta"]
    assert set(meta) == {"flatness", "corruptions", "bim", "hessian"}
    assert "imagecorruptions" in meta["corruptions"]["frost_textures"] and meta["bim"]["wall_s"] >= 0
    # one line per probe, each starting with its name
    assert [ln.split()[0] for ln in lines[1:5]] == ["flatness", "corruptions", "bim", "hessian"]
    # analysis reads it
    from analysis.collect import _probe_columns

    cols = _probe_columns(data)
    assert {"probe.flatness_area", "probe.bim_robust_acc", "probe.hessian_trace", "probe.hessian_trace_lo",
            "probe.corruption.frost@5.0"} <= set(cols)


def test_results_merge_and_other_roles_get_their_own_file(peer_run, tmp_path):
    path = peer_run / "probes.json"
    path.write_text(json.dumps({"hessian": {"trace": 1.0}, "meta": {"hessian": {"x": 1}}}))
    run_probes(peer_run, ["bim"], SMALL, echo=None)
    data = json.loads(path.read_text())
    assert data["hessian"] == {"trace": 1.0} and "bim" in data and set(data["meta"]) == {"hessian", "bim"}
    run_probes(peer_run, ["bim"], {**SMALL, "role": "teacher"}, echo=None)
    assert (peer_run / "probes-teacher.json").exists()
    assert json.loads(path.read_text())["bim"] == data["bim"]


def test_self_kd_network_is_probed_on_its_deepest_head(tmp_path):
    run = make_run_dir(tmp_path / "self", "kd.name=online", "kd_mode.name=self")
    out = run_probes(run, "flatness,bim", SMALL, echo=None)
    assert 0 <= out["bim"]["clean_acc"] <= 100 and len(out["flatness"]["loss_mean"]) == 2


@pytest.mark.parametrize("names, cfg, expected", [
    ("nope", {}, "unknown probe 'nope'; choose one of: bim, corruptions, flatness, hessian"),
    ([], {}, "no probe given"),
    ("corruptions", {"corruptions": {"names": ["fog_of_war"]}}, "unknown corruption 'fog_of_war'"),
    ("corruptions", {"corruptions": {"severities": [0, 3]}}, "severity must be an integer in 1..5, got 0"),
    ("corruptions", {"corruptions": {"severities": [6]}}, "severity must be an integer in 1..5, got 6"),
    ("flatness", {"flatness": {"samples": "many"}}, "bad config value flatness.samples"),
    ("hessian", {"hessian": {"probes": 0}}, "hessian.probes must be an integer >= 1"),
])
def test_bad_input_fails_before_loading_anything(tmp_path, names, cfg, expected):
    with pytest.raises(UserError, match=expected.replace("(", "\\(")):
        run_probes(tmp_path / "not-even-a-dir", names, cfg, echo=None)


def test_run_dir_without_a_checkpoint(tmp_path):
    (tmp_path / ".hydra").mkdir()
    (tmp_path / ".hydra" / "config.yaml").write_text("seed: 0\n")
    with pytest.raises(UserError, match="has no checkpoint"):
        run_probes(tmp_path, "bim", echo=None)
    with pytest.raises(UserError, match="not a run directory"):
        run_probes(tmp_path / "missing", "bim", echo=None)


def test_probe_lists_and_the_probe_list_convenience():
    assert probe_names("all") == ["flatness", "corruptions", "bim", "hessian"]
    assert probe_names("bim, hessian,bim") == ["bim", "hessian"]
    assert probe_names(["hessian"]) == ["hessian"]
    # probe=a,b is a list; everything else (run_dir included) goes to Hydra as typed
    assert list_overrides(["run_dir=a,b", "probe=bim,hessian", "probe=[x,y]", "x=1", "run_dir='q'", "+probe=a,b"]) == \
        ["run_dir=a,b", "probe=[bim,hessian]", "probe=[x,y]", "x=1", "run_dir='q'", "+probe=[a,b]"]
    assert set(PROBES.names()) == {"flatness", "corruptions", "bim", "hessian"}


def _fake_run(folder, checkpoint=True):
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "config.yaml").write_text("seed: 0\n")
    if checkpoint:
        (folder / "checkpoints").mkdir()
        (folder / "checkpoints" / "last.pt").write_bytes(b"")


def test_a_sweep_root_stands_for_its_trained_runs(tmp_path):
    for name in ("kd-spaced/seed-0", "kd-online/seed-1", "kd-online/seed-0"):
        _fake_run(tmp_path / name)
    _fake_run(tmp_path / "stray", checkpoint=False)  # no checkpoint: nothing to probe
    root = tmp_path.resolve()
    assert run_dirs(tmp_path) == [root / "kd-online/seed-0", root / "kd-online/seed-1", root / "kd-spaced/seed-0"]
    assert run_dirs(tmp_path / "kd-online/seed-0") == [root / "kd-online/seed-0"]
    # a run itself is taken even without a checkpoint: the runner then says what it lacks
    assert run_dirs(tmp_path / "stray") == [root / "stray"]
    with pytest.raises(UserError, match="does not exist"):
        run_dirs(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no trained run under"):
        run_dirs(tmp_path / "empty")


def test_evaluate_yaml_states_only_what_differs_from_the_schema():
    from hydra import compose, initialize_config_dir

    from spaced_kd.checks import register_schema

    raw = yaml.safe_load((ROOT / "conf" / "evaluate.yaml").read_text())
    assert set(raw) == {"defaults", "hydra"}  # every setting's default lives in EvalConfig
    register_schema("base_evaluate", EvalConfig)
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base=None):
        composed = compose(config_name="evaluate")
    assert OmegaConf.to_container(composed) == OmegaConf.to_container(OmegaConf.structured(EvalConfig))
    assert load_eval_config(composed) == EvalConfig()
