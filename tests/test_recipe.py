"""recipe=official differs from the default exactly where the README says, and each switch works."""
from dataclasses import asdict
from pathlib import Path

from hydra import compose, initialize_config_dir

import torch

from spaced_kd.build import build
from spaced_kd.conf_store import register
from spaced_kd.config import load_config
from spaced_kd.losses import kl_softmax_input, soft_ce

CONF = str(Path(__file__).resolve().parents[1] / "conf")

# The behaviour table in the README, as config keys.
DOCUMENTED = {
    "recipe.name", "recipe.kl_softmax_input", "recipe.teacher_train_mode_replay", "recipe.drop_last_block",
    "recipe.self_kd_offset", "recipe.self_replay_skips_ce", "recipe.self_soft_ce",
    "recipe.self_augment", "recipe.floor_interval", "recipe.distill_token",
    "recipe.rotation", "recipe.pytorch_init", "recipe.bn_split", "loss.t2_scaling", "loss.feature", "loss.feature_heads",
    "teacher.init", "teacher.width_rule",
}


def composed(*overrides):
    register()
    with initialize_config_dir(config_dir=CONF, version_base=None):
        return load_config(compose(config_name="config", overrides=list(overrides)))


def flat(d, prefix=""):
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def test_official_differs_exactly_where_documented():
    a, b = flat(asdict(composed())), flat(asdict(composed("recipe=official")))
    assert {k for k in a if a[k] != b[k]} == DOCUMENTED
    readme = (Path(CONF).parent / "README.md").read_text()
    for key in DOCUMENTED - {"recipe.name"}:
        assert f"`{key}" in readme, f"{key} missing from the README's recipe table"


def test_each_switch_can_be_flipped_back_alone():
    c = composed("recipe=official", "recipe.drop_last_block=false", "loss.feature=l1")
    assert c.recipe.drop_last_block is False and c.recipe.kl_softmax_input is True and c.loss.feature == "l1"


def test_official_uses_the_release_losses_and_schedule():
    base = {"dataset": {"name": "digits", "train_subset": 200}, "trainer": {"epochs": 2, "batch_size": 32,
            "device": "cpu", "progress": False}}
    official = {"recipe": {"kl_softmax_input": True, "drop_last_block": True, "floor_interval": True},
                "loss": {"t2_scaling": False, "feature": "l2_dist"}}
    d = build(load_config(base))
    o = build(load_config({**base, **official}))
    assert o.learner.loss.logit is kl_softmax_input and not o.learner.loss.t2
    assert d.learner.loss.t2 and d.learner.loss.logit is not kl_softmax_input
    # 7 steps/epoch: s = 1.5 × 7 = 10.5 → 11 (rounded) vs 10 (truncated); 14 steps in all
    assert (d.plan.interval, o.plan.interval) == (11, 10)
    replayed = lambda s: sum(1 for e in s.events() if e.kind == "student")
    assert replayed(d) == 14 and replayed(o) == 10  # the release never replays the cut block
    sk = build(load_config({**base, "kd_mode": {"name": "self"}, "interval": 1.0,
                            "recipe": {"self_soft_ce": True, "self_kd_offset": True, "drop_last_block": True}}))
    assert sk.learner.loss.logit is soft_ce
    assert sk.plan.first_block == sk.steps_per_epoch


# ---- each release switch applies only in the pipeline where the release has it (spaced_kd/recipe.py)
from spaced_kd import recipe  # noqa: E402

OFFICIAL = ("recipe=official",)


def test_rotation_only_for_online_kd_resnets_on_cifar_and_imagenet():
    assert recipe.data_config(composed(*OFFICIAL, "dataset=cifar100", "model=resnet18")).rotation == 15
    assert recipe.data_config(composed(*OFFICIAL, "dataset=imagenet100", "model=resnet18")).rotation == 15
    assert recipe.data_config(composed(*OFFICIAL, "dataset=tiny_imagenet", "model=resnet18")).rotation == 0
    assert recipe.data_config(composed(*OFFICIAL, "dataset=cifar100", "kd_mode=self")).rotation == 0
    assert recipe.data_config(composed(*OFFICIAL, "dataset=cifar100", "model=deit_tiny")).rotation == 0
    assert recipe.data_config(composed(*OFFICIAL, "dataset=cifar100", "teacher=deit_tiny")).rotation == 0
    assert recipe.data_config(composed("dataset=cifar100")).rotation == 0


def test_softmax_input_kl_never_for_vits():
    assert recipe.peer_logit_loss(composed(*OFFICIAL, "model=resnet18")) == "kl_softmax_input"
    assert recipe.peer_logit_loss(composed(*OFFICIAL, "model=deit_tiny")) is None
    assert recipe.peer_logit_loss(composed(*OFFICIAL, "model=pit_tiny")) is None
    assert recipe.peer_logit_loss(composed(*OFFICIAL, "loss=l1")) is None  # another logit term chosen


def test_pytorch_init_for_online_kd_resnets_only():
    assert recipe.pytorch_init(composed(*OFFICIAL))
    assert not recipe.pytorch_init(composed(*OFFICIAL, "kd_mode=self"))
    assert not recipe.pytorch_init(composed(*OFFICIAL, "model=deit_tiny"))
    base = {"dataset": {"name": "digits", "train_subset": 64}, "trainer": {"epochs": 2, "batch_size": 32,
            "device": "cpu"}, "kd": {"name": "none"}}
    kaiming = build(load_config(base)).learner.student
    default = build(load_config({**base, "recipe": {"pytorch_init": True}})).learner.student
    conv = lambda net: [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)][-1].weight
    # a 64→64 3×3 conv: fan-out Kaiming std √(2/576) ≈ 0.059; PyTorch's kaiming_uniform(a=√5) ≈ 0.024
    assert conv(kaiming).std() > 2 * conv(default).std()


def test_self_kd_first_block_is_steps_per_epoch_mod_s():
    base = {"dataset": {"name": "digits", "train_subset": 224}, "trainer": {"epochs": 3, "batch_size": 32,
            "device": "cpu"}, "kd_mode": {"name": "self"}, "recipe": {"self_kd_offset": True}}
    for interval, first in ((0.5, 7 % 4), (1.0, 7), (1.5, 7)):  # 7 steps/epoch; s = 4, 7, 11 steps
        s = build(load_config({**base, "interval": interval}))
        assert s.steps_per_epoch == 7 and s.plan.first_block == first, (interval, s.plan.first_block)
    peer = build(load_config({**base, "kd_mode": {"name": "peer"}, "interval": 0.5}))
    assert peer.plan.first_block is None


def release_self_kd_loop(epochs, spe, interval_epochs):
    """self_KD/train.py's loop as events: every batch enters the buffer; a step whose counter hits a
    multiple of the interval replays the buffer (its own batch included) instead of its CE update."""
    interval = int(spe * interval_epochs)
    events, buffer = [], []
    for epoch in range(epochs):
        for i in range(spe):
            n_iter = (epoch - 1) * spe + i + 1
            t = epoch * spe + i
            buffer.append(t)
            if n_iter % interval == 0:
                events += [f"S{b}" for b in buffer]
                buffer = []
            else:
                events.append(f"T{t}")
    return events


def test_self_kd_replay_trace_is_the_release_loop():
    """recipe=official's self-KD switches together (offset, no CE on the replay step, last block
    dropped, truncated interval) give the release's loop event for event."""
    base = {"dataset": {"name": "digits", "train_subset": 224}, "trainer": {"epochs": 5, "batch_size": 32,
            "device": "cpu"}, "kd_mode": {"name": "self"}}
    official = {"self_kd_offset": True, "self_replay_skips_ce": True, "drop_last_block": True,
                "floor_interval": True}
    for interval in (0.5, 1.0, 1.5, 2.0):  # 7 steps an epoch: s = 3, 7, 10, 14
        setup = build(load_config({**base, "interval": interval, "recipe": official}))
        assert setup.steps_per_epoch == 7
        trace = [repr(e) for e in setup.events()]
        assert trace == release_self_kd_loop(5, 7, interval), interval
    # the switch alone: every replayed block's last batch loses its teacher step, nothing else
    plain = build(load_config({**base, "interval": 1.0})).events
    skip = build(load_config({**base, "interval": 1.0, "recipe": {"self_replay_skips_ce": True}})).events
    assert [e for e in plain() if not (e.kind == "teacher" and (e.step + 1) % 7 == 0)] == list(skip())
    # the release's online-KD loop updates the teacher on every batch: peer runs keep every teacher step
    peer = build(load_config({**base, "kd_mode": {"name": "peer"}, "interval": 1.0,
                              "recipe": {"self_replay_skips_ce": True}}))
    assert sum(e.kind == "teacher" for e in peer.events()) == 35


def test_official_wide_teachers_scale_parameters_not_channels():
    """ResNet-18×k: the release's downsample_factor gives channels int(64/√f), f = 1/k, so k times the
    parameters; the default recipe reads ×k as k times the channels (k² the parameters)."""
    from spaced_kd.build import teacher_width
    from spaced_kd.models import build_model

    def params(width):
        with torch.device("meta"):
            net = build_model("resnet18", num_classes=100, in_channels=3, image_size=32, width=width)
        return sum(p.numel() for p in net.parameters())

    student = params(1.0)
    for k in (2, 4, 8):
        official = composed("recipe=official", "model=resnet18", f"teacher=resnet18x{k}")
        default = composed("model=resnet18", f"teacher=resnet18x{k}")
        assert official.teacher.width_rule == "params" and default.teacher.width_rule == "channels"
        assert abs(params(teacher_width(official)) / student - k) < 0.01 * k, k
        assert abs(params(teacher_width(default)) / student - k * k) < 0.01 * k * k, k
