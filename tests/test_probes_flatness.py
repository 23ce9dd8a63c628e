"""Flatness: sigma = 0 is the clean network, more noise is worse, the weights come back unchanged."""
import pytest
import torch

from spaced_kd.errors import UserError
from spaced_kd.probes.base import evaluate
from spaced_kd.probes.config import FlatnessConfig
from spaced_kd.probes.flatness import check, flatness_curve

from probe_fakes import blobs, trained_bn_mlp

SIGMAS = [0.0, 0.05, 0.3, 1.0]


@pytest.fixture(scope="module")
def fitted():
    x, y = blobs()
    return trained_bn_mlp(x, y), [(x[:128], y[:128]), (x[128:], y[128:])]


def state(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("relative", [True, False])
def test_sigma_zero_is_clean_and_more_noise_is_worse(fitted, relative):
    model, batches = fitted
    before = state(model)
    clean_loss, clean_acc = evaluate(model, batches)
    out = flatness_curve(model, batches, SIGMAS, relative=relative, samples=4, seed=0)
    assert out["loss_mean"][0] == pytest.approx(clean_loss, abs=1e-6) and out["loss_std"][0] == pytest.approx(0, abs=1e-6)
    assert out["acc_mean"][0] == pytest.approx(clean_acc)
    assert out["loss_mean"][3] > out["loss_mean"][2] > out["loss_mean"][0]
    assert out["acc_mean"][3] < out["acc_mean"][0]
    assert out["area"] > 0 and out["loss_std"][3] > 0
    assert set(out) >= {"sigmas", "relative", "samples", "loss_mean", "loss_std", "acc_mean", "acc_std", "area"}
    assert out["sigmas"] == SIGMAS and out["relative"] is relative and out["samples"] == 4
    after = state(model)
    assert all(torch.equal(before[k], after[k]) for k in before)  # weights and BN statistics restored
    assert not model.training


def test_seeded_and_recalibration_restores_statistics(fitted):
    model, batches = fitted
    before = state(model)
    a = flatness_curve(model, batches, [0.0, 0.1], samples=2, seed=3)
    b = flatness_curve(model, batches, [0.0, 0.1], samples=2, seed=3)
    c = flatness_curve(model, batches, [0.0, 0.1], samples=2, seed=4)
    assert a["loss_mean"] == b["loss_mean"] and a["loss_mean"][1] != c["loss_mean"][1]
    r = flatness_curve(model, batches, [0.0, 0.3], samples=2, seed=3, bn="recalibrate")
    assert r["bn"] == "recalibrate" and r["loss_mean"][1] != a["loss_mean"][1]
    after = state(model)
    assert all(torch.equal(before[k], after[k]) for k in before)
    bn = model[1]
    assert bn.momentum == 0.1 and not bn.training


def test_area_counts_from_the_clean_loss_when_the_grid_has_no_zero(fitted):
    model, batches = fitted
    with_zero = flatness_curve(model, batches, [0.0, 0.3], samples=2, seed=0)
    without = flatness_curve(model, batches, [0.3], samples=2, seed=0)
    assert without["area"] == pytest.approx(with_zero["area"])


@pytest.mark.parametrize("kw, expected", [
    ({"sigmas": []}, "flatness.sigmas is empty"),
    ({"sigmas": [0.1, 0.0]}, "must be increasing"),
    ({"sigmas": [-0.1]}, "must be a number >= 0"),
    ({"samples": 0}, "flatness.samples must be an integer >= 1"),
    ({"bn": "train"}, "flatness.bn='train' is not allowed"),
])
def test_bad_settings(kw, expected):
    with pytest.raises(UserError, match=expected):
        check(FlatnessConfig(**kw))
