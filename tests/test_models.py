"""Classifiers: shapes, parameter counts, width scaling, seeding, drop-path, bad names."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from spaced_kd.errors import UserError
from spaced_kd.models import MODELS, build_model
from spaced_kd.models.vit import patch_size_for

RESNETS = ["resnet8", "resnet14", "resnet20", "resnet18", "resnet34", "resnet50", "resnet101", "resnet18_imagenet"]
VITS = ["deit_tiny", "pit_tiny"]
# The four-stage ResNets at a quarter width keep this file in seconds; shapes don't depend on width.
SMALL_WIDTH = {"resnet18": 0.25, "resnet34": 0.25, "resnet50": 0.25, "resnet101": 0.25, "resnet18_imagenet": 0.25}
FEATURE_DIM = {
    "resnet8": 64, "resnet14": 64, "resnet20": 64, "resnet18": 128, "resnet34": 128,
    "resnet50": 512, "resnet101": 512, "deit_tiny": 192, "pit_tiny": 256, "resnet18_imagenet": 128,
}


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count(name: str, **kw) -> int:
    """Parameter count without allocating or initialising weights (the wide teachers are 45M+)."""
    with torch.device("meta"):
        return n_params(build_model(name, in_channels=3, image_size=32, **kw))


def test_every_architecture_is_registered():
    assert set(MODELS.names()) == set(RESNETS + VITS + ["deit_tiny_distilled"])  # tests/test_models_distilled.py


@pytest.mark.parametrize("name", RESNETS + VITS)
@pytest.mark.parametrize("size,channels", [(32, 3), (8, 1)])
def test_output_shapes_and_feature_dim(name, size, channels):
    net = build_model(name, num_classes=7, in_channels=channels, image_size=size, width=SMALL_WIDTH.get(name, 1.0))
    logits, feature = net(torch.randn(2, channels, size, size))
    assert logits.shape == (2, 7)
    assert feature.shape == (2, net.feature_dim)
    assert net.feature_dim == FEATURE_DIM[name]


@pytest.mark.parametrize("name", ["resnet8", "resnet18", "deit_tiny", "pit_tiny"])
def test_odd_image_sizes(name):
    # 28-px digits/Fashion-MNIST give 7×7 maps in stage 3 and a 7×7 token grid for the ViTs.
    net = build_model(name, num_classes=10, in_channels=1, image_size=28, width=SMALL_WIDTH.get(name, 1.0))
    logits, feature = net(torch.randn(2, 1, 28, 28))
    assert logits.shape == (2, 10) and feature.shape == (2, net.feature_dim)


def _cifar_resnet18_count(num_classes: int) -> int:
    """Count of the CIFAR ResNet-18 written out from its definition, independent of the code."""
    def bn(c):
        return 2 * c

    count = 3 * 64 * 9 + bn(64)  # stem
    in_ch = 64
    for out_ch, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
        for j in range(2):
            count += in_ch * out_ch * 9 + bn(out_ch) + out_ch * out_ch * 9 + bn(out_ch)
            if j == 0 and (stride != 1 or in_ch != out_ch):
                count += in_ch * out_ch + bn(out_ch)  # 1×1 projection shortcut
            in_ch = out_ch
    return count + 512 * num_classes + num_classes


def test_resnet18_parameter_count_matches_the_cifar_resnet18():
    n = count("resnet18", num_classes=100)
    # Same architecture counted two ways, so no tolerance is needed here...
    assert n == _cifar_resnet18_count(100) == 11_220_132
    # ...and the "11.2M" quoted for CIFAR-100 ResNet-18 is rounded to 0.1M, so it holds to ±0.05M.
    assert abs(n - 11.2e6) <= 0.05e6


def test_the_vit_pipelines_resnet18_is_torchvisions_resnet18():
    """resnet18_imagenet (the release's pycls ResNet-18): torchvision's layout, so its count, and a
    map a quarter of the input's size after the stem."""
    from torchvision.models import resnet18

    assert count("resnet18_imagenet", num_classes=100) == n_params(resnet18(num_classes=100)) == 11_227_812
    net = build_model("resnet18_imagenet", num_classes=100, in_channels=3, image_size=224)
    assert net.stem(torch.zeros(1, 3, 224, 224)).shape[-2:] == (56, 56)
    assert abs(float(net.fc.weight.detach().std()) - 0.01) < 0.001 and not net.fc.bias.any()


def test_other_resnet_parameter_counts():
    # Published figures, each rounded to its last digit (hence the half-unit tolerances):
    # He et al. Tab. 6: ResNet-20 0.27M (CIFAR-10, option-A shortcuts); CIFAR ResNet-50 23.5M + fc.
    r20 = count("resnet20", num_classes=10)
    assert abs(r20 - 0.27e6) <= 0.005e6
    assert abs(count("resnet50", num_classes=10) - 23.52e6) <= 0.005e6
    assert count("resnet8", num_classes=10) < r20 < count("resnet18", num_classes=10)


def test_width_scales_parameters_quadratically():
    base = count("resnet18", num_classes=10)
    # Conv weights grow as width², BatchNorm, fc and the stem's input side only linearly: just under ×4.
    assert 3.95 < count("resnet18", num_classes=10, width=2.0) / base < 4.0
    assert 15.8 < count("resnet18", num_classes=10, width=4.0) / base < 16.0
    small = build_model("resnet8", num_classes=10, in_channels=1, image_size=8, width=2.0)
    assert small.feature_dim == 128


def test_seeded_builds_are_identical_and_unseeded_differ():
    for name in ["resnet8", "resnet18", "deit_tiny", "pit_tiny"]:
        kw = dict(num_classes=10, in_channels=3, image_size=32, width=SMALL_WIDTH.get(name, 1.0))
        torch.manual_seed(3)
        a = build_model(name, **kw).state_dict()
        torch.manual_seed(3)
        b = build_model(name, **kw).state_dict()
        c = build_model(name, **kw).state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a), name
        assert any(not torch.equal(a[k], c[k]) for k in a if a[k].is_floating_point() and a[k].numel() > 1), name


@pytest.mark.parametrize("name", VITS + ["resnet8"])
def test_drop_path_is_stochastic_in_train_mode_only(name):
    torch.manual_seed(0)
    net = build_model(name, num_classes=5, in_channels=3, image_size=16, drop_path=0.5)
    x = torch.randn(4, 3, 16, 16)
    net.train()
    a, b = net(x)[0], net(x)[0]
    assert not torch.allclose(a, b)
    net.eval()
    assert torch.equal(net(x)[0], net(x)[0])


def test_zero_drop_path_is_deterministic_in_train_mode_for_vits():
    for name in VITS:
        net = build_model(name, num_classes=5, in_channels=3, image_size=16).train()
        x = torch.randn(2, 3, 16, 16)
        assert torch.equal(net(x)[0], net(x)[0])


def test_vit_architecture_facts():
    deit = build_model("deit_tiny", num_classes=10, in_channels=3, image_size=32).net
    assert (deit.embed_dim, len(deit.blocks), deit.blocks[0].attn.num_heads) == (192, 12, 3)
    assert deit.patch_embed.patch_size == (4, 4) and deit.patch_embed.num_patches == 64
    assert deit.num_prefix_tokens == 1  # class token only: the plain, non-distilled DeiT
    pit = build_model("pit_tiny", num_classes=10, in_channels=3, image_size=64).net
    assert [t.blocks[0].attn.num_heads for t in pit.transformers] == [2, 4, 8]
    assert [len(t.blocks) for t in pit.transformers] == [2, 6, 4]
    assert [t.blocks[0].norm1.normalized_shape[0] for t in pit.transformers] == [64, 128, 256]
    assert pit.patch_embed.conv.kernel_size == (8, 8) and pit.patch_embed.conv.stride == (4, 4)


@pytest.mark.parametrize("size,patch", [(8, 2), (28, 4), (32, 4), (64, 8), (224, 16), (30, 2), (96, 8)])
def test_patch_size_rule(size, patch):
    assert patch_size_for(size) == patch


def test_gradients_reach_every_parameter():
    for name in ["resnet8", "resnet18", "deit_tiny", "pit_tiny"]:
        net = build_model(name, num_classes=4, in_channels=1, image_size=16, width=SMALL_WIDTH.get(name, 1.0))
        logits, feature = net(torch.randn(4, 1, 16, 16))
        (F.cross_entropy(logits, torch.arange(4)) + feature.pow(2).mean()).backward()
        missing = [n for n, p in net.named_parameters() if p.grad is None]
        assert not missing, (name, missing)


def test_unknown_model_is_a_one_line_user_error():
    with pytest.raises(UserError) as err:
        build_model("resnet9000", num_classes=10, in_channels=3, image_size=32)
    msg = str(err.value)
    assert "\n" not in msg and "resnet9000" in msg
    assert all(name in msg for name in MODELS.names())


@pytest.mark.parametrize(
    "kw",
    [
        dict(num_classes=0), dict(in_channels=0), dict(image_size=0), dict(width=0.0),
        dict(drop_path=1.0), dict(drop_path=-0.1),
    ],
)
def test_bad_arguments_are_one_line_user_errors(kw):
    args = dict(num_classes=10, in_channels=3, image_size=32) | kw
    with pytest.raises(UserError) as err:
        build_model("resnet8", **args)
    assert "\n" not in str(err.value)


def test_vits_refuse_a_width_multiplier():
    with pytest.raises(UserError, match="width"):
        build_model("deit_tiny", num_classes=10, in_channels=3, image_size=32, width=2.0)
