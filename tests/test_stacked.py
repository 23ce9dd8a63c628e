"""Several students as one stacked network (trainer.stack_students): bit-identical on the CPU to
the networks trained apart, inside a cohort too; refused in one line where it cannot be exact."""
import copy
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cohort_helpers import assert_same_run, cfg_for, checkpoint
from spaced_kd import rundir
from spaced_kd.cohort.member import COMPLETED, FAILED, MemberSpec
from spaced_kd.cohort.runner import KILL_AT_ENV, run_cohort
from spaced_kd.models import stacked as stacked_mod
from spaced_kd.models.registry import build_model
from spaced_kd.models.stacked import StackedNets, StackRefused
from spaced_kd.run import run


def nets(name, k=3, width=1.0, seed=0, drop_path=0.0):
    out = []
    for i in range(k):
        torch.manual_seed(seed + i)  # different weights per member
        out.append(build_model(name, num_classes=10, in_channels=3, image_size=16, width=width,
                               drop_path=drop_path))
    return out


def sgd_steps(step, members, steps=3):
    """`steps` steps of plain SGD where `step(x, y)` does the backward; returns the batches' outputs."""
    seen = []
    for s in range(steps):
        g = torch.Generator().manual_seed(100 + s)
        x, y = torch.randn(32, 3, 16, 16, generator=g), torch.randint(0, 10, (32,), generator=g)
        for net in members:
            net.zero_grad(set_to_none=True)
        seen.append(step(x, y))
        with torch.no_grad():
            for net in members:
                for p in net.parameters():
                    p -= 0.1 * p.grad
    return seen


@pytest.mark.parametrize("name, width", [("resnet8", 1.0), ("resnet20", 0.5), ("resnet18", 0.125)])
def test_a_stack_trains_each_member_bit_identically_to_its_network_alone(name, width):
    apart = nets(name, width=width)
    stack_members = [copy.deepcopy(n) for n in apart]
    stack = StackedNets(stack_members)

    def separately(x, y):
        outs = [n(x) for n in apart]
        for logits, _ in outs:
            F.cross_entropy(logits, y).backward()
        return outs

    def together(x, y):
        outs = stack(x)
        sum(F.cross_entropy(logits, y) for logits, _ in outs).backward()
        return outs

    out_a, out_b = sgd_steps(separately, apart), sgd_steps(together, stack_members)
    for step_a, step_b in zip(out_a, out_b):
        for (la, fa), (lb, fb) in zip(step_a, step_b):
            assert torch.equal(la, lb) and torch.equal(fa, fb)
    for a, b in zip(apart, stack_members):
        for (key, va), vb in zip(a.state_dict().items(), b.state_dict().values()):
            assert torch.equal(va, vb), f"{name}: {key} differs"  # weights, running statistics, counters
    # the members stayed different networks (the comparison is not of one network with itself)
    assert not torch.equal(stack_members[0].fc.weight, stack_members[1].fc.weight)


def test_eval_mode_uses_each_members_running_statistics():
    apart = nets("resnet8")
    sgd_steps(lambda x, y: [F.cross_entropy(n(x)[0], y).backward() for n in apart], apart)
    stack = StackedNets(apart)
    for n in apart:
        n.eval()
    x = torch.randn(8, 3, 16, 16)
    before = [copy.deepcopy(n.state_dict()) for n in apart]
    with torch.no_grad():
        for (logits, feat), n in zip(stack(x), apart):
            ref_logits, ref_feat = n(x)
            assert torch.equal(logits, ref_logits) and torch.equal(feat, ref_feat)
    for saved, n in zip(before, apart):  # running statistics and counters left as they were
        for key, value in n.state_dict().items():
            assert torch.equal(saved[key], value), key


class ConvBN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv, self.bn = nn.Conv2d(16, 16, 3, padding=1), nn.BatchNorm2d(16)

    def forward(self, x):
        return (self.bn(self.conv(x)),)


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("track", [True, False])
def test_one_batchnorm_call_follows_each_modules_own_rules(training, track):
    """Batch or running statistics, updated or not, as nn.BatchNorm decides for each mode
    (track_running_stats=False with buffers is how a frozen teacher's statistics are kept)."""
    torch.manual_seed(0)
    apart = [ConvBN() for _ in range(2)]
    for net in apart:
        net.bn.running_mean.uniform_()
        net.bn.running_var.uniform_(0.5, 1.0)
        net.train(training)
        net.bn.track_running_stats = track
    together = copy.deepcopy(apart)
    x = torch.randn(4, 16, 8, 8)
    for (a,), (b,) in zip([net(x) for net in apart], StackedNets(together)(x)):
        assert torch.equal(a, b)
    for a, b in zip(apart, together):
        for va, vb in zip(a.state_dict().values(), b.state_dict().values()):
            assert torch.equal(va, vb)


class Mixer(nn.Module):
    """A network whose forward mixes channels: a stack would let members see each other."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        h = torch.softmax(self.conv(x), dim=1)
        return self.fc(h.mean((2, 3))), h


class Indexer(nn.Module):
    """A network that slices channels: the slice would take the first member's channels only."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, padding=1)

    def forward(self, x):
        return (self.conv(x)[:, :4],)


@pytest.mark.parametrize("members, says", [
    (lambda: [Indexer(), Indexer()], "indexes a tensor"),
    (lambda: nets("resnet8", drop_path=0.2), "draws random numbers"),
    (lambda: [Mixer(), Mixer()], "softmax"),
    (lambda: nets("resnet8", k=1), "at least 2"),
    (lambda: [nets("resnet8", k=1)[0], build_model("resnet8", num_classes=10, in_channels=3, image_size=16,
                                                   width=2.0)], "different parameter"),
    (lambda: [nets("resnet8", k=1)[0], Mixer()], "different classes"),
])
def test_what_cannot_be_stacked_exactly_is_refused_in_one_line(members, says):
    with pytest.raises(StackRefused, match=says) as info:
        StackedNets(members())
    assert "\n" not in str(info.value)


# ------------------------------------------------------------------ inside a cohort

STACK = {"model": {"name": "resnet8", "drop_path": 0.0}, "trainer": {"stack_students": True}}


def cohort_configs():
    # online and online with another loss learn together at every teacher step; spaced 0.5 and 1
    # replay together at every second block; spaced 2 replays alone; none has no teacher
    return {"online": cfg_for("online", 1.5, **STACK),
            "online-T2": cfg_for("online", 1.5, loss={"temperature": 2.0}, **STACK),
            "spaced-0.5": cfg_for("spaced", 0.5, **STACK),
            "spaced-1.0": cfg_for("spaced", 1.0, **STACK),
            "spaced-1.0-a0.5": cfg_for("spaced", 1.0, loss={"alpha": 0.5}, **STACK),
            "spaced-2.0": cfg_for("spaced", 2.0, **STACK),
            "none": cfg_for("none", 1.5, **STACK)}


def count_stacked_calls(monkeypatch):
    calls = []
    original = stacked_mod.StackedNets.__call__

    def counted(self, x):
        calls.append(self.k)
        return original(self, x)

    monkeypatch.setattr(stacked_mod.StackedNets, "__call__", counted)
    return calls


def test_stacked_students_in_a_cohort_match_their_runs_alone(tmp_path, monkeypatch):
    configs = cohort_configs()
    solo = {}
    for name, cfg in configs.items():
        solo[name] = tmp_path / "alone" / name
        run(cfg, solo[name], log=lambda _: None)
    calls = count_stacked_calls(monkeypatch)
    dirs = {name: tmp_path / "cohort" / name for name in configs}
    members = run_cohort([MemberSpec(cfg, dirs[name], name=name) for name, cfg in configs.items()],
                         log=lambda _: None)
    assert {m.status for m in members} == {COMPLETED}
    for name in configs:
        assert_same_run(solo[name], dirs[name])
    # the stack really ran: 2 online students a teacher step (12 steps), spaced 0.5 and 1 and the
    # α = 0.5 student together at the end of every second 2-step block
    assert calls.count(2) >= 12 and 3 in calls


def test_a_stacked_member_that_diverges_fails_alone(tmp_path):
    configs = {"spaced": cfg_for("spaced", 1.0, **STACK),
               # a feature term so heavy that the student's loss overflows to inf at once
               "diverges": cfg_for("spaced", 1.0, loss={"beta": 1e38}, **STACK)}
    solo = tmp_path / "alone"
    run(configs["spaced"], solo, log=lambda _: None)
    dirs = {name: tmp_path / "cohort" / name for name in configs}
    members = dict(zip(configs, run_cohort([MemberSpec(c, dirs[n], name=n) for n, c in configs.items()],
                                           log=lambda _: None)))
    assert members["diverges"].status == FAILED and "non-finite" in members["diverges"].error
    assert members["spaced"].status == COMPLETED
    assert_same_run(solo, dirs["spaced"])


def test_students_whose_forward_draws_learn_one_by_one(tmp_path):
    random_forward = {"model": {"name": "resnet8", "drop_path": 0.1}, "trainer": {"stack_students": True}}
    configs = {"a": cfg_for("online", 1.5, **random_forward),
               "b": cfg_for("online", 1.5, loss={"temperature": 2.0}, **random_forward)}
    lines = []
    members = run_cohort([MemberSpec(c, tmp_path / n, name=n) for n, c in configs.items()], log=lines.append)
    assert {m.status for m in members} == {COMPLETED}
    # drop-path makes the learner itself ineligible: nothing is stacked, nothing refused
    assert not any("stack_students" in line for line in lines)


KILL_SCRIPT = """
import sys
from test_stacked import cohort_configs
from spaced_kd.cohort.member import MemberSpec
from spaced_kd.cohort.runner import KILL_AT_ENV, run_cohort
root = sys.argv[1]
specs = [MemberSpec(cfg, f"{root}/{name}") for name, cfg in cohort_configs().items()]
print({m.status for m in run_cohort(specs, log=lambda _: None)})
"""


def test_kill_9_mid_stacked_cohort_then_rerun_gives_every_member_as_alone(tmp_path):
    configs = cohort_configs()
    solo = {}
    for name, cfg in configs.items():
        solo[name] = tmp_path / "alone" / name
        run(cfg, solo[name], log=lambda _: None)
    root = tmp_path / "cohort"
    tests = Path(__file__).resolve().parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tests), str(tests.parent)])}
    r = subprocess.run([sys.executable, "-c", KILL_SCRIPT, str(root)], env={**env, KILL_AT_ENV: "7"},
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == -signal.SIGKILL, r.stderr[-2000:]
    assert all(checkpoint(root / name)["engine"]["event_index"] > 0 for name in configs)
    r = subprocess.run([sys.executable, "-c", KILL_SCRIPT, str(root)], env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0 and "{'completed'}" in r.stdout, r.stderr[-2000:]
    for name in configs:
        assert rundir.read_summary(root / name)["resumed_from_step"] is not None
        assert_same_run(solo[name], root / name)


def test_a_refused_model_is_not_stacked_and_the_log_says_why_once():
    """The walk then updates those students one by one, as for students that are not eligible."""
    from contextlib import nullcontext

    from spaced_kd.cohort.stacked import StudentStacks
    from spaced_kd.config import LossConfig
    from spaced_kd.learners import PeerLearner
    from spaced_kd.losses import KDLoss

    def learner():
        student, teacher = Mixer(), Mixer()
        opts = {"student": torch.optim.SGD(student.parameters(), lr=0.1),
                "teacher": torch.optim.SGD(teacher.parameters(), lr=0.1)}
        return PeerLearner(student, teacher, None, opts, KDLoss.from_config(LossConfig()), lr_at=lambda t: 0.1,
                           autocast=nullcontext, device=torch.device("cpu"))

    learners = [learner(), learner()]
    lines = []
    stacks = StudentStacks(lines.append)
    assert all(stacks.eligible(l) for l in learners)
    x, y = torch.randn(4, 3, 8, 8), torch.randint(0, 10, (4,))
    before = [copy.deepcopy(l.student.state_dict()) for l in learners]
    for t in range(2):
        target = learners[0].target(t, x)
        assert stacks.updates(learners, t, x, y, [target] * 2) is None
    assert len(lines) == 1 and "softmax" in lines[0] and "one by one" in lines[0]
    for saved, l in zip(before, learners):  # nothing was updated by the refused stack
        for key, value in l.student.state_dict().items():
            assert torch.equal(saved[key], value), key
