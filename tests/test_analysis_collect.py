"""analysis.collect: run directories → one row per run, statuses, normalisation, the rerun rule."""
import json
import math

import pytest

from analysis_fakes import make_run, peer
from analysis.collect import collect, read_metrics, status_line, unreadable_line, usable
from spaced_kd.config import NOT_IDENTITY

SWEEP = "multirun/2025-01-01/12-00-00"


def test_one_row_per_run_with_config_columns_metrics_and_overrides(tmp_path):
    make_run(tmp_path, f"{SWEEP}/kd=spaced,interval=1.5/seed=0", cfg=peer("spaced", 1.5), student_acc=72.5,
             teacher_acc=70.0, seed=0, wall_s=30.0)
    make_run(tmp_path, f"{SWEEP}/kd=online/seed=1", cfg=peer("online", **{"optim.lr": 0.05}), student_acc=71.0,
             teacher_acc=69.0, seed=1)
    df = collect(tmp_path)
    assert len(df) == 2
    row = df[df["kd"] == "spaced"].iloc[0]
    expected = {
        "model": "resnet18", "network": "ResNet-18", "dataset": "cifar100", "dataset_label": "CIFAR-100",
        "kd": "spaced", "kd_mode": "peer", "interval": 1.5, "lr": 0.01, "batch_size": 128, "seed": 0,
        "start_epoch": 0.0, "end_epoch": math.inf, "full_period": True, "teacher": "resnet18",
        "teacher_label": "ResNet-18", "teacher_same": True, "recipe": "default", "loss": "kl",
        "feature_loss": "mse_mean", "status": "completed", "ok": True, "superseded": False,
        "student_acc": 72.5, "teacher_acc": 70.0, "wall_s": 30.0, "steps_per_epoch": 10, "interval_steps": 15,
    }
    for key, value in expected.items():
        assert row[key] == value, key
    assert "kd=spaced" in row["overrides"].split() and "interval=1.5" in row["overrides"].split()
    assert row["optim.momentum"] == 0.9  # every config key, flattened with dots
    assert row["run_dir"].endswith("kd=spaced,interval=1.5/seed=0")
    assert df[df["kd"] == "online"].iloc[0]["lr"] == 0.05
    assert "optim.lr" in df[df["kd"] == "online"].iloc[0]["overridden"].split()


def test_interval_is_normalised_so_grouping_works(tmp_path):
    for i, (kd, s) in enumerate([("none", 1.5), ("online", 1.5), ("offline", 1.5), ("spaced", 0.5), ("ahead", 2.0)]):
        make_run(tmp_path, f"r{i}", cfg=peer(kd, s), student_acc=70.0, teacher_acc=70.0)
    df = collect(tmp_path).set_index("kd")
    assert math.isnan(df.loc["none", "interval"])
    assert df.loc["online", "interval"] == 0.0
    assert math.isinf(df.loc["offline", "interval"])
    assert df.loc["spaced", "interval"] == 0.5 and df.loc["ahead", "interval"] == 2.0
    assert (df["interval_raw"] == [1.5, 1.5, 1.5, 0.5, 2.0]).all()
    assert df.loc["none", "teacher"] is None or math.isnan(df.loc["none", "teacher"])
    assert math.isnan(df.loc["online", "start_epoch"])  # the critical period only exists for spaced KD


def test_critical_period_and_teacher_normalisation(tmp_path):
    make_run(tmp_path, "late", cfg=peer("spaced", 1.5, **{"spaced.start_epoch": 2.0}), student_acc=70.0, epochs=8)
    make_run(tmp_path, "window", cfg=peer("spaced", 1.5, **{"spaced.start_epoch": 2.0, "spaced.end_epoch": 4.0}),
             student_acc=70.0, epochs=8)
    make_run(tmp_path, "to_end", cfg=peer("spaced", 1.5, **{"spaced.end_epoch": 8.0}), student_acc=70.0, epochs=8)
    make_run(tmp_path, "wide", cfg=peer("online", **{"teacher.name": "resnet18", "teacher.width": 2.0}),
             student_acc=70.0)
    make_run(tmp_path, "self", cfg=peer("spaced", 4.0, **{"kd_mode.name": "self"}), student_acc=70.0)
    rows = {r["run_dir"].rsplit("/", 1)[-1]: r for r in collect(tmp_path).to_dict("records")}
    assert (rows["late"]["start_epoch"], rows["late"]["end_epoch"], rows["late"]["full_period"]) == (2.0, math.inf, False)
    assert (rows["window"]["end_epoch"], rows["window"]["full_period"]) == (4.0, False)
    assert (rows["to_end"]["end_epoch"], rows["to_end"]["full_period"]) == (math.inf, True)  # end = epochs
    assert rows["wide"]["teacher_label"] == "ResNet-18×2" and rows["wide"]["teacher_same"] is False
    assert rows["self"]["teacher_same"] is True and rows["self"]["kd_mode"] == "self"


def test_failed_and_unfinished_runs_are_kept_and_flagged(tmp_path):
    make_run(tmp_path, "good", cfg=peer("spaced", 1.5), student_acc=72.0, teacher_acc=70.0, seed=0)
    make_run(tmp_path, "bad", cfg=peer("spaced", 1.5), status="failed", error="RuntimeError: boom", seed=1)
    make_run(tmp_path, "killed", cfg=peer("spaced", 1.5), status=None, student_acc=55.0, teacher_acc=50.0,
             seed=2, epochs=4)
    make_run(tmp_path, "going", cfg=peer("spaced", 1.5), status="running", student_acc=40.0, seed=3)
    df = collect(tmp_path)
    rows = {r["run_dir"].rsplit("/", 1)[-1]: r for r in df.to_dict("records")}
    assert len(df) == 4
    assert rows["bad"]["status"] == "failed" and rows["bad"]["error"] == "RuntimeError: boom" and not rows["bad"]["ok"]
    assert rows["killed"]["status"] == "no_summary" and not rows["killed"]["ok"]
    assert rows["killed"]["student_acc"] == 55.0 and rows["killed"]["teacher_acc"] == 50.0  # from metrics.jsonl
    assert rows["killed"]["epochs_done"] == 2
    assert rows["going"]["status"] == "running"
    assert list(usable(df)["run_dir"].str.rsplit("/", n=1).str[-1]) == ["good"]
    assert status_line(df) == "4 runs: 1 completed, 1 failed, 1 running, 1 no_summary"


def test_rerun_rule(tmp_path):
    # same config and seed, three attempts: an old completed one, a newer failed retry, ...
    make_run(tmp_path, "a_done_old", cfg=peer("spaced", 1.5), student_acc=71.0, seed=0, mtime=1_000)
    make_run(tmp_path, "b_failed_new", cfg=peer("spaced", 1.5), status="failed", seed=0, mtime=2_000)
    # ... two completed attempts: the newest wins
    make_run(tmp_path, "c_done_old", cfg=peer("online"), student_acc=70.0, seed=0, mtime=1_000)
    make_run(tmp_path, "d_done_new", cfg=peer("online", 2.0), student_acc=70.5, seed=0, mtime=3_000)
    # ... nothing completed: the newest attempt wins, so a retry in flight shows as running
    make_run(tmp_path, "e_failed_old", cfg=peer("offline"), status="failed", seed=0, mtime=1_000)
    make_run(tmp_path, "f_running_new", cfg=peer("offline"), status="running", seed=0, mtime=2_000)
    # another seed is another measurement, never a rerun
    make_run(tmp_path, "g_other_seed", cfg=peer("spaced", 1.5), student_acc=72.0, seed=1, mtime=500)
    df = collect(tmp_path)
    sup = {r.rsplit("/", 1)[-1]: s for r, s in zip(df["run_dir"], df["superseded"])}
    assert sup == {"a_done_old": False, "b_failed_new": True, "c_done_old": True, "d_done_new": False,
                   "e_failed_old": True, "f_running_new": False, "g_other_seed": False}
    winner = df.set_index(df["run_dir"].str.rsplit("/", n=1).str[-1])
    assert winner.loc["b_failed_new", "superseded_by"].endswith("a_done_old")
    # online KD with another (irrelevant) interval is the same experiment
    assert winner.loc["c_done_old", "config_id"] == winner.loc["d_done_new", "config_id"]
    assert status_line(df).endswith("3 superseded by reruns")


def test_collect_takes_run_dirs_and_several_roots_once_each(tmp_path):
    one = make_run(tmp_path / "sweep1", "0", cfg=peer("none"), student_acc=68.0)
    make_run(tmp_path / "sweep2", "x/0", cfg=peer("online"), student_acc=70.0)
    make_run(tmp_path / "sweep2", "x/1", cfg=peer("online"), student_acc=70.0, seed=1)
    (tmp_path / "sweep2" / "multirun.yaml").write_text("hydra: {}\n")
    df = collect([one, tmp_path / "sweep2", tmp_path / "sweep1"])
    assert len(df) == 3
    with pytest.raises(FileNotFoundError):
        collect([tmp_path / "nope"])
    assert collect(tmp_path / "sweep2" / "x" / "0")["seed"].tolist() == [0]


def test_truncated_metrics_line_is_skipped(tmp_path):
    run = make_run(tmp_path, "r", cfg=peer("online"), status=None, student_acc=60.0, teacher_acc=55.0)
    with open(run / "metrics.jsonl", "a") as fh:
        fh.write('{"epoch": 3, "step": 30, "role": "stud')  # killed mid-write
    assert len(read_metrics(run)) == 4  # 2 epochs × 2 roles
    assert collect(tmp_path).iloc[0]["student_acc"] == 60.0


def test_probes_are_flattened_when_present(tmp_path):
    probes = {"flatness": {"sigmas": [0, 0.01], "loss_mean": [0.1, 0.5], "loss_std": [0, 0.1],
                           "acc_mean": [99, 90], "acc_std": [0, 1], "area": 0.6},
              "corruptions": {"snow": {"1.0": 60.0, "3": 45.5}},
              "bim": {"clean_acc": 70.0, "robust_acc": 31.3, "eps": 0.03},
              "hessian": {"trace": 120.0, "trace_ci": [110.0, 130.0], "top_eigenvalue": 9.5}}
    make_run(tmp_path, "p", cfg=peer("online"), student_acc=70.0, probes=probes)
    make_run(tmp_path, "q", cfg=peer("online"), student_acc=70.0, seed=1)
    df = collect(tmp_path).set_index("seed")
    row = df.loc[0]
    assert row["has_probes"] and not df.loc[1, "has_probes"]
    assert row["probe.flatness_area"] == 0.6
    assert row["probe.corruption.snow@1.0"] == 60.0 and row["probe.corruption.snow@3.0"] == 45.5
    assert row["probe.bim_robust_acc"] == 31.3 and row["probe.bim_eps"] == 0.03
    assert (row["probe.hessian_trace"], row["probe.hessian_trace_lo"], row["probe.hessian_trace_hi"]) == (120, 110, 130)
    assert math.isnan(df.loc[1, "probe.bim_robust_acc"])


def test_summary_config_wins_over_hydra_config(tmp_path):
    run = make_run(tmp_path, "r", cfg=peer("spaced", 1.5), student_acc=70.0)
    summary = json.loads((run / "summary.json").read_text())
    summary["config"]["optim"]["lr"] = 0.02  # the resolved config is the truth
    (run / "summary.json").write_text(json.dumps(summary))
    assert collect(tmp_path).iloc[0]["lr"] == 0.02


def test_old_and_new_sweep_folder_names_load_from_overrides_yaml(tmp_path):
    # folder names are never parsed: the new plain names and the old `k=v,k=v` names both load,
    # and a folder name that disagrees with overrides.yaml does not matter
    make_run(tmp_path, "new/kd-spaced__interval-1.5/seed-0", cfg=peer("spaced", 1.5), student_acc=72.0)
    make_run(tmp_path, "old/kd=spaced,interval=0.5/seed=1", cfg=peer("spaced", 0.5), student_acc=71.0, seed=1)
    make_run(tmp_path, "odd/kd-online/seed-9", cfg=peer("spaced", 2.0), student_acc=70.0, seed=2)
    rows = {r["interval"]: r for r in collect(tmp_path).to_dict("records")}
    assert set(rows) == {0.5, 1.5, 2.0}
    assert rows[1.5]["seed"] == 0 and rows[0.5]["seed"] == 1 and rows[2.0]["seed"] == 2
    assert rows[2.0]["kd"] == "spaced" and "interval=2.0" in rows[2.0]["overrides"].split()
    assert "kd=spaced" in rows[0.5]["overrides"].split()


def test_a_damaged_summary_is_unreadable_with_its_path_never_unfinished(tmp_path):
    run = make_run(tmp_path, "r", cfg=peer("spaced", 1.5), student_acc=72.0, teacher_acc=70.0)
    (run / "summary.json").write_text('{"status": "completed", "metr')  # cut mid-write
    wrong = make_run(tmp_path, "s", cfg=peer("spaced", 1.5), student_acc=72.0, seed=1)
    (wrong / "summary.json").write_text("[1, 2, 3]")  # JSON, but not a summary
    make_run(tmp_path, "t", cfg=peer("spaced", 1.5), status=None, student_acc=50.0, seed=2)  # never wrote one
    df = collect(tmp_path)
    rows = {r["run_dir"].rsplit("/", 1)[-1]: r for r in df.to_dict("records")}
    for name in ("r", "s"):
        assert rows[name]["status"] == "unreadable" and not rows[name]["ok"]
        assert str(tmp_path / name / "summary.json") in rows[name]["error"]
    assert rows["r"]["kd"] == "spaced" and rows["r"]["student_acc"] == 72.0  # config and metrics still read
    assert rows["t"]["status"] == "no_summary"
    assert status_line(df) == "3 runs: 1 no_summary, 2 unreadable"
    line = unreadable_line(df)
    assert line.startswith("2 runs with an unreadable summary.json") and str(tmp_path / "r" / "summary.json") in line
    assert unreadable_line(df[df["status"] != "unreadable"]) is None


def test_killed_status_is_kept_and_counted(tmp_path):
    make_run(tmp_path, "oom", cfg=peer("spaced", 1.5), status="killed", seed=0)
    make_run(tmp_path, "ok", cfg=peer("spaced", 1.5), student_acc=70.0, seed=1)
    df = collect(tmp_path)
    assert sorted(df["status"]) == ["completed", "killed"]
    assert status_line(df) == "2 runs: 1 completed, 1 killed"


def test_loss_column_reads_loss_logit_and_falls_back_to_the_retired_loss_name(tmp_path):
    make_run(tmp_path, "new", cfg=peer("online", **{"loss.logit": "l1"}), student_acc=70.0)
    # written before loss.name was retired: it holds loss.name and no loss.logit
    make_run(tmp_path, "old", cfg=peer("online"), student_acc=70.0, seed=1,
             legacy={"loss.name": "smooth_l1"}, missing=("loss.logit",))
    rows = {r["run_dir"].rsplit("/", 1)[-1]: r for r in collect(tmp_path).to_dict("records")}
    assert rows["new"]["loss"] == rows["new"]["logit_loss"] == "l1"
    assert rows["old"]["loss"] == rows["old"]["logit_loss"] == "smooth_l1"


@pytest.mark.parametrize("key", NOT_IDENTITY)
def test_rerun_rule_ignores_exactly_the_schemas_not_identity_keys(tmp_path, key):
    # one definition of a run's identity: every key the schema marks as not changing the result
    leaf = key if "." in key else {"logger": "logger.project"}.get(key, key)
    changed = {leaf: "elsewhere"} if leaf not in ("probes", "tags") else {leaf: ["x"]}
    make_run(tmp_path, "a", cfg=peer("spaced", 1.5), student_acc=70.0, mtime=1_000)
    make_run(tmp_path, "b", cfg=peer("spaced", 1.5, **changed), student_acc=71.0, mtime=2_000)
    df = collect(tmp_path)
    assert df["config_id"].nunique() == 1, key
    assert df["superseded"].tolist() == [True, False]  # the newer attempt is kept


def test_rerun_rule_keeps_identity_keys_and_reads_missing_keys_as_defaults(tmp_path):
    make_run(tmp_path, "a", cfg=peer("spaced", 1.5), student_acc=70.0)
    make_run(tmp_path, "b", cfg=peer("spaced", 1.5, **{"trainer.eval_every": 2}), student_acc=70.0)
    make_run(tmp_path, "c", cfg=peer("spaced", 1.5, **{"recipe.drop_last_block": True}), student_acc=70.0)
    # an older version wrote neither spaced.length nor recipe: both mean their defaults
    make_run(tmp_path, "d", cfg=peer("spaced", 1.5), student_acc=70.0, missing=("spaced.length", "recipe"))
    # interval=2 typed as an int by Hydra, 2.0 as a float: one value
    make_run(tmp_path, "e", cfg=peer("spaced", 2), student_acc=70.0)
    make_run(tmp_path, "f", cfg=peer("spaced", 2.0), student_acc=70.0)
    df = collect(tmp_path)
    df = df.set_index(df["run_dir"].str.rsplit("/", n=1).str[-1])
    ids = df["config_id"]
    assert len({ids["a"], ids["b"], ids["c"]}) == 3
    assert ids["a"] == ids["d"] and df.loc["d", "recipe"] == "default"
    assert ids["e"] == ids["f"]


def test_no_deepest_head_rule_in_analysis(tmp_path):
    # self KD logs its deepest head as `student` at the source; analysis takes roles as logged
    old = make_run(tmp_path, "old", cfg=peer("spaced", 2.0, **{"kd_mode.name": "self"}), status=None,
                   metrics={"head1_acc": 50.0, "head4_acc": 60.0})
    new = make_run(tmp_path, "new", cfg=peer("spaced", 2.0, **{"kd_mode.name": "self"}), status=None, seed=1,
                   student_acc=61.0, metrics={"head1_acc": 50.0, "head4_acc": 61.0})
    rows = {r["run_dir"].rsplit("/", 1)[-1]: r for r in collect([old, new]).to_dict("records")}
    assert math.isnan(rows["old"]["student_acc"]) and rows["old"]["head4_acc"] == 60.0
    assert rows["new"]["student_acc"] == 61.0


def test_window_given_by_its_length(tmp_path):
    make_run(tmp_path, "w", cfg=peer("spaced", 1.5, **{"spaced.start_epoch": 2.0, "spaced.length": 3.0}),
             student_acc=70.0, epochs=8)
    row = collect(tmp_path).iloc[0]
    assert (row["start_epoch"], row["end_epoch"], row["full_period"]) == (2.0, 5.0, False)


def test_run_files_are_data_never_code(tmp_path):
    run = make_run(tmp_path, "r", cfg=peer("online"), status=None, student_acc=60.0)
    marker = tmp_path / "pwned"
    (run / ".hydra" / "config.yaml").write_text(f"!!python/object/apply:os.system ['touch {marker}']\n")
    (run / ".hydra" / "overrides.yaml").write_text(f"!!python/object/apply:os.system ['touch {marker}']\n")
    row = collect(tmp_path).iloc[0]
    assert not marker.exists()
    assert row["status"] == "no_summary" and row["student_acc"] == 60.0 and row["overrides"] == ""
