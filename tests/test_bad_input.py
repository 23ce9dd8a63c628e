"""Each bad input: one clear line on stderr, a non-zero exit, nothing overwritten."""

import pytest
import torch

from helpers import FAST, one_line_error, summary, train


def test_unknown_group_option_lists_choices(tmp_path):
    r = train("model=resnet_nope", f"hydra.run.dir={tmp_path}")
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert "Could not find 'model/resnet_nope'" in r.stderr and "resnet18" in r.stderr


@pytest.mark.parametrize("override, expected", [
    ("model.name=nope", "unknown model 'nope'; choose one of:"),
    ("dataset.name=nope", "unknown dataset 'nope'; choose one of:"),
    ("kd.name=sometimes", "unknown kd schedule 'sometimes'"),
    ("interval=0", "interval must be a number > 0"),
    ("interval=-1", "interval must be a number > 0"),
    ("interval=abc", "interval"),
    ("optim.lr=0", "optim.lr must be a number > 0"),
    ("optim.lr=fast", "optim.lr"),
    ("trainer.epochs=0", "trainer.epochs must be a number > 0"),
    ("trainer.epochs=nan", "trainer.epochs must be a number > 0"),
    ("trainer.batch_size=-4", "trainer.batch_size must be an integer >= 1"),
    ("trainer.batch_size=big", "trainer.batch_size"),
    ("trainer.batch_size=100000", "larger than the training set"),
    ("trainer.precision=fp8", "trainer.precision='fp8' is not allowed; choose one of: fp32, bf16"),
])
def test_bad_values_fail_in_one_line(tmp_path, override, expected):
    r = train(*FAST, override, f"hydra.run.dir={tmp_path / 'run'}")
    line = one_line_error(r)
    assert line.startswith("error: ") and expected in line, line
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_missing_dataset_files_say_where_and_how(tmp_path):
    r = train(*FAST, "dataset=cifar100", f"dataset.root={tmp_path / 'nothing'}", f"hydra.run.dir={tmp_path / 'run'}")
    line = one_line_error(r)
    assert str(tmp_path / "nothing") in line and "download" in line


def test_unwritable_output_directory(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    r = train(*FAST, f"hydra.run.dir={blocker / 'run'}")
    line = one_line_error(r)
    assert "not writable" in line


def test_corrupt_checkpoint_is_reported_and_kept(tmp_path):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    junk = b"this is not a checkpoint" * 10
    (run / "checkpoints" / "last.pt").write_bytes(junk)
    r = train(*FAST, f"hydra.run.dir={run}")
    line = one_line_error(r)
    assert "unreadable" in line and "trainer.resume=false" in line
    assert (run / "checkpoints" / "last.pt").read_bytes() == junk


def test_failure_never_overwrites_a_completed_summary(tmp_path):
    run = tmp_path / "run"
    assert train(*FAST, "kd=none", f"hydra.run.dir={run}").returncode == 0
    before = (run / "summary.json").read_text()
    (run / "checkpoints" / "last.pt").write_bytes(b"garbage")
    one_line_error(train(*FAST, "kd=none", f"hydra.run.dir={run}"))
    assert (run / "summary.json").read_text() == before


def test_nonfinite_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    run = tmp_path / "run"
    r = train(*FAST, "kd=none", "optim.lr=1e12", "trainer.checkpoint_every=1", f"hydra.run.dir={run}")
    line = one_line_error(r)
    assert "non-finite" in line
    s = summary(run)
    assert s["status"] == "failed" and "non-finite" in s["error"]
    state = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    for name, t in state["learner"]["models"]["student"].items():
        if t.is_floating_point():
            assert torch.isfinite(t).all(), name


def test_output_dir_given_with_plus_prefixes(tmp_path):
    for key in ("hydra.run.dir", "+hydra.run.dir", "++hydra.run.dir"):
        line = one_line_error(train(*FAST, f"{key}=/proc/spaced-kd-run"))
        assert "not writable" in line, (key, line)


@pytest.mark.parametrize("content, says", [
    ({"weights": [1, 2, 3]}, "is not a spaced-kd checkpoint; point teacher.checkpoint at a spaced-kd run"),
    ({"format": 2, "config": {}, "engine": {}}, "holds no trained network"),
])
def test_teacher_checkpoint_of_the_wrong_format(tmp_path, content, says):
    f = tmp_path / "teacher.pt"
    torch.save(content, f)
    line = one_line_error(train(*FAST, "kd=offline", f"teacher.checkpoint={f}", f"hydra.run.dir={tmp_path / 'run'}"))
    assert says in line and str(f) in line, line
    assert not (tmp_path / "run" / "summary.json").exists()
