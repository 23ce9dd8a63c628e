"""Self-KD networks: head count and order, feature alignment, gradient flow, bad names."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from spaced_kd.errors import UserError
from spaced_kd.models import MODELS, SELF_MODELS, build_self_model

HEADS = {
    "resnet8": 3, "resnet14": 3, "resnet20": 3,  # three stages: two students + the deepest
    "resnet18": 4, "resnet34": 4, "resnet50": 4, "resnet101": 4,
    "deit_tiny": 12,
}
SMALL_WIDTH = {"resnet18": 0.25, "resnet34": 0.25, "resnet50": 0.25, "resnet101": 0.25}


def build(name, size=32, channels=3, classes=6, **kw):
    kw.setdefault("width", SMALL_WIDTH.get(name, 1.0))
    return build_self_model(name, num_classes=classes, in_channels=channels, image_size=size, **kw)


def test_registered_self_models():
    assert set(SELF_MODELS.names()) == set(HEADS)
    assert set(SELF_MODELS.names()) <= set(MODELS.names())


@pytest.mark.parametrize("name", sorted(HEADS))
def test_heads_shapes_and_feature_dims(name):
    net = build(name)
    logits, feats = net(torch.randn(2, 3, 32, 32))
    assert net.num_heads == HEADS[name] == len(logits) == len(feats)
    assert all(lg.shape == (2, 6) for lg in logits)
    assert all(f.shape == (2, net.feature_dim) for f in feats)


@pytest.mark.parametrize("name", ["resnet8", "resnet18", "deit_tiny"])
def test_deepest_head_first_is_the_plain_network(name):
    net = build(name).eval()
    x = torch.randn(2, 3, 32, 32)
    logits, feats = net(x)
    plain_logits, plain_feature = net.backbone(x)
    assert torch.allclose(logits[0], plain_logits, atol=1e-5)
    assert torch.allclose(feats[0], plain_feature, atol=1e-5)


def test_shallow_heads_are_ordered_deep_to_shallow():
    net = build("resnet18").eval()
    x = torch.randn(2, 3, 32, 32)
    # Perturbing stage 4 (the last) must leave every shallow head alone; perturbing stage 3 must
    # change exactly the deepest head and the stage-3 head (index 1), not the two shallower ones.
    with torch.no_grad():
        base, _ = net(x)
        net.backbone.stages[2][-1].bn2.bias.add_(1.0)
        moved, _ = net(x)
    changed = [not torch.allclose(a, b) for a, b in zip(base, moved)]
    assert changed == [True, True, False, False]


@pytest.mark.parametrize(
    "name,size,channels", [("resnet8", 8, 1), ("resnet8", 28, 1), ("resnet18", 28, 1), ("resnet18", 12, 3)]
)
def test_any_input_size(name, size, channels):
    # Odd maps (7×7, 3×3, 1×1) exercise the attention gate's resize back to its input's size.
    net = build(name, size=size, channels=channels)
    logits, feats = net(torch.randn(2, channels, size, size))
    assert len(logits) == len(feats) == HEADS[name] and all(lg.shape == (2, 6) for lg in logits)


@pytest.mark.parametrize("name", ["resnet8", "resnet18", "deit_tiny"])
def test_gradients_reach_every_head(name):
    net = build(name, size=16)
    logits, feats = net(torch.randn(4, 3, 16, 16))
    y = torch.arange(4) % 6
    loss = sum(F.cross_entropy(lg, y) for lg in logits)
    loss = loss + sum((f - feats[0].detach()).pow(2).mean() for f in feats[1:])
    loss.backward()
    missing = [n for n, p in net.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing
    assert len(net.heads) == HEADS[name] - 1


def test_deepest_head_loss_leaves_shallow_heads_untouched():
    # A spaced self-KD "teacher step" trains the deepest head only; the shallow heads must see no gradient.
    net = build("resnet8", size=8, channels=1)
    logits, _ = net(torch.randn(4, 1, 8, 8))
    F.cross_entropy(logits[0], torch.arange(4)).backward()
    assert all(p.grad is None for p in net.heads.parameters())
    assert all(p.grad is not None for p in net.backbone.parameters())


def test_seeded_self_builds_are_identical():
    for name in ["resnet8", "deit_tiny"]:
        torch.manual_seed(1)
        a = build(name).state_dict()
        torch.manual_seed(1)
        b = build(name).state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a)


def test_deit_self_drop_path():
    torch.manual_seed(0)
    net = build("deit_tiny", size=16, drop_path=0.5)
    x = torch.randn(2, 3, 16, 16)
    assert not torch.allclose(net.train()(x)[0][0], net(x)[0][0])
    net.eval()
    assert all(torch.equal(a, b) for a, b in zip(net(x)[0], net(x)[0]))


def test_unknown_self_model_is_a_one_line_user_error():
    with pytest.raises(UserError) as err:
        build_self_model("pit_tiny", num_classes=10, in_channels=3, image_size=32)
    msg = str(err.value)
    assert "\n" not in msg and "pit_tiny" in msg
    assert all(name in msg for name in SELF_MODELS.names())
