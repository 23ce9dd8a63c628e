"""Learners: what each event does to which network."""
import pytest
import torch

from spaced_kd.build import build
from spaced_kd.config import load_config


def setup_for(**over):
    base = {"dataset": {"name": "digits", "train_subset": 128}, "model": {"name": "resnet8"},
            "trainer": {"epochs": 1, "batch_size": 32, "progress": False, "device": "cpu"}, "interval": 0.5}
    for k, v in over.items():
        base[k] = {**base.get(k, {}), **v} if isinstance(v, dict) else v
    s = build(load_config(base))
    x, y = s.data.train_batch(0)
    return s, x, y


def bn_stats(net):
    return [b.clone() for n, b in net.named_buffers() if "running_mean" in n]


def count_forwards(net):
    calls = []
    net.register_forward_hook(lambda *a: calls.append(1))
    return calls


def test_joint_step_uses_the_teachers_own_forward_only():
    s, x, y = setup_for(kd={"name": "online"})
    calls = count_forwards(s.learner.teacher)
    before = [p.clone() for p in s.learner.teacher.parameters()]
    s.learner.step("joint", 0, x, y)
    assert len(calls) == 1  # no second teacher forward for the target
    assert any(not torch.equal(a, b) for a, b in zip(before, s.learner.teacher.parameters()))


def test_student_step_leaves_the_teacher_untouched_by_default():
    s, x, y = setup_for()
    t = s.learner.teacher
    params, stats = [p.clone() for p in t.parameters()], bn_stats(t)
    s.learner.step("student", 0, x, y)
    assert all(torch.equal(a, b) for a, b in zip(params, t.parameters()))
    assert all(torch.equal(a, b) for a, b in zip(stats, bn_stats(t)))  # eval mode: stats frozen


def test_release_switch_moves_teacher_batchnorm_stats_during_replay():
    s, x, y = setup_for(recipe={"teacher_train_mode_replay": True})
    t = s.learner.teacher
    params, stats = [p.clone() for p in t.parameters()], bn_stats(t)
    s.learner.step("student", 0, x, y)
    assert all(torch.equal(a, b) for a, b in zip(params, t.parameters()))  # still no update
    assert any(not torch.equal(a, b) for a, b in zip(stats, bn_stats(t)))


def test_teacher_step_does_not_touch_the_student():
    s, x, y = setup_for()
    before = [p.clone() for p in s.learner.student.parameters()]
    s.learner.step("teacher", 0, x, y)
    assert all(torch.equal(a, b) for a, b in zip(before, s.learner.student.parameters()))


def test_teacher_with_other_feature_size_gets_a_projector():
    s, x, y = setup_for(teacher={"name": "resnet20", "width": 2.0})
    assert s.learner.teacher.feature_dim != s.learner.student.feature_dim
    out = s.learner.step("joint", 0, x, y)
    assert torch.isfinite(out["loss"]) and out["feat"] > 0


def test_teacher_init_same_or_different():
    same, _, _ = setup_for(teacher={"init": "same"})
    diff, _, _ = setup_for(teacher={"init": "different"})
    sd = lambda net: list(net.state_dict().values())
    assert all(torch.equal(a, b) for a, b in zip(sd(same.learner.student), sd(same.learner.teacher)))
    assert any(not torch.equal(a, b) for a, b in zip(sd(diff.learner.student), sd(diff.learner.teacher))
               if a.is_floating_point())


def shallow_head_params(net, learner):
    """Parameters that only the shallow heads use: they get no gradient from a CE-only step."""
    x, y = learner._last_batch
    net.zero_grad(set_to_none=True)
    logits, _ = net(x)
    torch.nn.functional.cross_entropy(logits[0], y).backward()
    return [n for n, p in net.named_parameters() if p.grad is None]


def test_self_teacher_step_trains_the_deepest_head_only():
    s, x, y = setup_for(kd_mode={"name": "self"})
    net = s.learner.net
    s.learner._last_batch = (x, y)
    only_shallow = set(shallow_head_params(net, s.learner))
    assert only_shallow, "the self-KD network has no shallow-head-only parameters"
    before = {n: p.clone() for n, p in net.named_parameters()}
    s.learner.step("teacher", 0, x, y)
    after = dict(net.named_parameters())
    assert all(torch.equal(before[n], after[n]) for n in only_shallow)
    s.learner.step("student", 0, x, y)
    assert any(not torch.equal(before[n], after[n]) for n in only_shallow)


def test_self_kd_loss_has_every_term_and_heads_are_reported():
    s, x, y = setup_for(kd_mode={"name": "self"}, kd={"name": "online"})
    out = s.learner.step("joint", 0, x, y)
    assert out["kd"] > 0 and out["feat"] > 0 and out["ce"] > 0
    res = s.learner.evaluate("student", s.data.eval_batches("test", 64))
    n = s.learner.net.num_heads
    assert set(res) == {f"head{i}" for i in range(1, n + 1)} | {"ensemble", "student"}
    assert res["student"] == res[f"head{n}"]  # the deepest head is the student the paper reports


def test_self_feature_term_on_the_shallowest_heads_only():
    s, x, y = setup_for(kd_mode={"name": "self"}, loss={"feature_heads": 1})
    logits, feats = s.learner.net(x)
    k = len(logits) - 1  # shallowest
    expected = s.learner.loss.beta * s.learner.loss.feature(feats[k].float(), feats[0].detach().float())
    parts = s.learner.self_kd_loss(logits, feats, y)
    assert parts["feat"].item() == pytest.approx(expected.item(), rel=1e-5)
