"""BIM: robust ≤ clean accuracy, the loss rises with the steps, eps = 0 changes nothing."""
import pytest
import torch
from torch import nn

from spaced_kd.errors import UserError
from spaced_kd.probes.bim import bim_accuracy, bim_attack, check
from spaced_kd.probes.config import BIMConfig
from spaced_kd.probes.pixels import PixelModel


class MeanBrightness(nn.Module):
    """Linear: class 1 iff the image's mean is above 0.5 (inputs normalised by PixelModel)."""

    def forward(self, z):
        s = z.flatten(1).mean(1) * 20
        return torch.stack([-s, s], 1)


def brightness_task(n=64, seed=0):
    gen = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    level = 0.5 + (y.float() * 2 - 1) * (0.005 + 0.06 * torch.rand(n, generator=gen))  # margins 0.005 … 0.065
    x = (level[:, None, None, None] + 0.02 * torch.randn(n, 1, 4, 4, generator=gen)).clamp(0, 1)
    return x, y


def linear_model():
    # mean 0.5, std 1: the normalised image is x − 0.5, so the boundary is at a mean of 0.5
    return PixelModel(MeanBrightness(), [0.5], [1.0]).eval()


def small_cnn():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                        nn.Flatten(), nn.Linear(8, 2))
    x, y = brightness_task(128, seed=1)
    opt = torch.optim.Adam(net.parameters(), lr=0.05)
    model = PixelModel(net, [0.5], [0.25])
    for _ in range(60):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return model.eval()


@pytest.mark.parametrize("make", [linear_model, small_cnn])
def test_robust_accuracy_is_at_most_clean_and_the_loss_rises(make):
    model = make()
    x, y = brightness_task()
    out = bim_accuracy(model, [(x[:32], y[:32]), (x[32:], y[32:])], eps=8 / 255, alpha=2 / 255, steps=10)
    assert out["robust_acc"] <= out["clean_acc"]
    assert out["robust_acc"] < out["clean_acc"]  # margins below 8/255 exist
    losses = out["loss_by_step"]
    assert len(losses) == 11 and losses[-1] > losses[0]
    if make is linear_model:  # a linear model's gradient sign never changes: each step adds loss
        assert all(b >= a - 1e-6 for a, b in zip(losses, losses[1:]))
    assert all(p.requires_grad for p in model.parameters())  # given back as found


def test_adversarial_images_stay_in_the_eps_ball_and_in_range():
    model = linear_model()
    x, y = brightness_task()
    x[0] = 0.0  # at the border of [0, 1]
    adv, _ = bim_attack(model, x, y, eps=8 / 255, alpha=2 / 255, steps=10)
    assert float((adv - x).abs().max()) <= 8 / 255 + 1e-6
    assert float(adv.min()) >= 0.0 and float(adv.max()) <= 1.0
    assert not torch.equal(adv, x)


@pytest.mark.parametrize("eps, alpha, steps", [(0.0, 2 / 255, 10), (8 / 255, 2 / 255, 0)])
def test_no_budget_changes_nothing(eps, alpha, steps):
    model = small_cnn()
    x, y = brightness_task()
    adv, losses = bim_attack(model, x, y, eps=eps, alpha=alpha, steps=steps)
    assert torch.equal(adv, x)
    out = bim_accuracy(model, [(x, y)], eps=eps, alpha=alpha, steps=steps)
    assert out["robust_acc"] == out["clean_acc"]
    assert losses == pytest.approx([losses[0]] * len(losses))


@pytest.mark.parametrize("field, value, expected", [
    ("eps", -0.1, "bim.eps must be a number >= 0"),
    ("eps", 8, "pixel units"),
    ("alpha", float("nan"), "bim.alpha"),
    ("steps", -1, "bim.steps must be an integer >= 0"),
])
def test_bad_settings(field, value, expected):
    with pytest.raises(UserError, match=expected):
        check(BIMConfig(**{field: value}))
