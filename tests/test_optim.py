"""Optimiser switches of the release's ViT pipeline and the teacher width rule."""
import math

import pytest

from spaced_kd.build import build
from spaced_kd.config import OptimConfig, load_config
from spaced_kd.models import build_model
from spaced_kd.optim import lr_schedule, param_groups


def test_tokens_and_position_embedding_are_exempt_from_weight_decay():
    net = build_model("deit_tiny", num_classes=5, in_channels=1, image_size=8)
    names = {id(p): n for n, p in net.named_parameters()}
    groups = param_groups([net], OptimConfig(weight_decay=0.05, no_decay_tokens=True))
    exempt = {names[id(p)].rsplit(".", 1)[-1] for g in groups if g["weight_decay"] == 0.0 for p in g["params"]}
    assert exempt == {"cls_token", "pos_embed"}
    both = param_groups([net], OptimConfig(weight_decay=0.05, no_decay_tokens=True, no_decay_1d=True))
    n_exempt = sum(p.numel() for g in both if g["weight_decay"] == 0.0 for p in g["params"])
    n_1d = sum(p.numel() for p in net.parameters() if p.ndim <= 1)
    assert n_exempt == n_1d + net.net.cls_token.numel() + net.net.pos_embed.numel()
    plain = param_groups([net], OptimConfig(weight_decay=0.05))
    assert len(plain) == 1 and plain[0]["weight_decay"] == 0.05


def test_warm_up_starts_at_a_fraction_of_the_rate():
    cfg = OptimConfig(lr=1.0, scheduler="constant", warmup_epochs=2, warmup_start=0.001)
    at = lr_schedule(cfg, total_steps=100, steps_per_epoch=10)
    assert at(0) == pytest.approx(0.001 + 0.999 * 1 / 20)
    assert at(19) == pytest.approx(1.0) and at(50) == 1.0
    from_zero = lr_schedule(OptimConfig(lr=1.0, warmup_epochs=2), 100, 10)
    assert from_zero(0) == pytest.approx(1 / 20)


def test_per_epoch_schedule_moves_once_an_epoch():
    cfg = OptimConfig(lr=1.0, min_lr=0.0, scheduler="cosine", per_epoch=True)
    at = lr_schedule(cfg, total_steps=100, steps_per_epoch=10)
    assert len({at(t) for t in range(10, 20)}) == 1 and at(10) != at(20)
    assert at(10) == pytest.approx(0.5 * (1 + math.cos(math.pi * 10 / 100)))
    per_step = lr_schedule(OptimConfig(lr=1.0, scheduler="cosine"), 100, 10)
    assert len({per_step(t) for t in range(10, 20)}) == 10


@pytest.mark.parametrize("rule, ratio", [("channels", 4.0), ("params", 2.0)])
def test_teacher_width_rule(rule, ratio):
    base = {"dataset": {"name": "digits", "train_subset": 64}, "model": {"name": "resnet8"},
            "trainer": {"epochs": 2, "batch_size": 32, "device": "cpu"}, "interval": 0.5,
            "teacher": {"width": 2.0, "width_rule": rule}}
    learner = build(load_config(base)).learner
    count = lambda net: sum(p.numel() for p in net.parameters() if p.ndim == 4)  # conv weights  # noqa: E731
    # ×2 channels quadruples conv weights; ×2 parameters doubles them (channels × √2)
    assert count(learner.teacher) / count(learner.student) == pytest.approx(ratio, rel=0.08)
