"""KD terms against values computed by hand on fixed logits."""
import math

import pytest
import torch

from spaced_kd.config import LossConfig
from spaced_kd.errors import UserError
from spaced_kd.losses import FEATURE_LOSSES, LOGIT_LOSSES, KDLoss

S = torch.tensor([[1.0, 2.0, 0.0], [0.5, -1.0, 2.0]])
T = torch.tensor([[2.0, 1.0, 0.0], [0.0, 0.0, 3.0]])
Y = torch.tensor([1, 2])


def softmax(row, temp):
    e = [math.exp(v / temp) for v in row]
    z = sum(e)
    return [v / z for v in e]


def hand_kl(temp):
    total = 0.0
    for s, t in zip(S.tolist(), T.tolist()):
        ps, pt = softmax(s, temp), softmax(t, temp)
        total += sum(b * (math.log(b) - math.log(a)) for a, b in zip(ps, pt))
    return total / len(S)


def hand_ce():
    total = 0.0
    for s, y in zip(S.tolist(), Y.tolist()):
        total += -math.log(softmax(s, 1.0)[y])
    return total / len(S)


def test_kl_matches_hand_value():
    assert LOGIT_LOSSES.get("kl")(S, T, 3.0).item() == pytest.approx(hand_kl(3.0), rel=1e-6)
    assert LOGIT_LOSSES.get("kl")(S, S, 3.0).item() == pytest.approx(0.0, abs=1e-7)


def test_release_kl_is_not_a_kl():
    # Σ p_t (log p_t − p_s) / B with probabilities fed as the input
    total = 0.0
    for s, t in zip(S.tolist(), T.tolist()):
        ps, pt = softmax(s, 3.0), softmax(t, 3.0)
        total += sum(b * (math.log(b) - a) for a, b in zip(ps, pt))
    got = LOGIT_LOSSES.get("kl_softmax_input")(S, T, 3.0).item()
    assert got == pytest.approx(total / 2, rel=1e-6)
    assert got != pytest.approx(hand_kl(3.0), rel=1e-3)


def test_soft_ce_matches_hand_value():
    total = 0.0
    for s, t in zip(S.tolist(), T.tolist()):
        ps, pt = softmax(s, 3.0), softmax(t, 3.0)
        total += -sum(b * math.log(a) for a, b in zip(ps, pt))
    assert LOGIT_LOSSES.get("soft_ce")(S, T, 3.0).item() == pytest.approx(total / 2, rel=1e-6)


def test_regression_logit_losses():
    d = ((S - T) / 2.0).flatten().tolist()
    assert LOGIT_LOSSES.get("mse_mean")(S, T, 2.0).item() == pytest.approx(sum(v * v for v in d) / 6, rel=1e-6)
    assert LOGIT_LOSSES.get("mse_sum")(S, T, 2.0).item() == pytest.approx(sum(v * v for v in d), rel=1e-6)
    assert LOGIT_LOSSES.get("l1")(S, T, 2.0).item() == pytest.approx(sum(abs(v) for v in d) / 6, rel=1e-6)
    sl1 = sum(0.5 * v * v if abs(v) < 1 else abs(v) - 0.5 for v in d) / 6
    assert LOGIT_LOSSES.get("smooth_l1")(S, T, 2.0).item() == pytest.approx(sl1, rel=1e-6)


def test_feature_losses():
    fs = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    ft = torch.tensor([[0.0, 2.0], [3.0, 1.0]])
    assert FEATURE_LOSSES.get("l2_dist")(fs, ft).item() == pytest.approx(math.sqrt(1 + 9), rel=1e-6)
    assert FEATURE_LOSSES.get("l2_dist")(fs, ft).item() == pytest.approx(torch.dist(fs, ft).item())
    assert FEATURE_LOSSES.get("mse_mean")(fs, ft).item() == pytest.approx(10 / 4)
    assert FEATURE_LOSSES.get("mse_sum")(fs, ft).item() == pytest.approx(10)
    assert FEATURE_LOSSES.get("l1")(fs, ft).item() == pytest.approx(4 / 4)
    assert FEATURE_LOSSES.get("none")(fs, ft).item() == 0.0


def test_student_loss_weights_and_t2():
    cfg = LossConfig(logit="kl", feature="mse_mean", temperature=3.0, alpha=0.3, beta=0.03)
    fs, ft = torch.ones(2, 4), torch.zeros(2, 4)
    parts = KDLoss.from_config(cfg)(S, T, Y, fs, ft)
    assert parts["ce"].item() == pytest.approx(0.7 * hand_ce(), rel=1e-6)
    assert parts["kd"].item() == pytest.approx(0.3 * 9.0 * hand_kl(3.0), rel=1e-6)
    assert parts["feat"].item() == pytest.approx(0.03 * 1.0, rel=1e-6)
    no_t2 = KDLoss.from_config(LossConfig(t2_scaling=False))(S, T, Y)
    assert no_t2["kd"].item() == pytest.approx(0.3 * hand_kl(3.0), rel=1e-6)
    # regression losses are not temperature-softened distributions: no T² even when enabled
    mse = KDLoss.from_config(LossConfig(logit="mse_mean"))
    assert mse.t2 is False


def test_unknown_loss_names_list_choices():
    with pytest.raises(UserError, match="kl, kl_per_element, kl_softmax_input"):
        KDLoss.from_config(LossConfig(logit="cosine"))
    with pytest.raises(UserError, match="feature loss 'cos'"):
        KDLoss.from_config(LossConfig(feature="cos"))


def test_release_deit_kd_divides_by_every_logit():
    # The release's DeiT term: sum of KL over the batch · T² / (B·C); here T² comes from t2_scaling.
    got = LOGIT_LOSSES.get("kl_per_element")(S, T, 3.0).item()
    assert got == pytest.approx(hand_kl(3.0) * len(S) / S.numel(), rel=1e-6)
    loss = KDLoss.from_config(LossConfig(logit="kl_per_element", temperature=3.0, alpha=0.5, beta=0.0))
    assert loss.distill(S, T).item() == pytest.approx(9 * hand_kl(3.0) / S.shape[1], rel=1e-6)


def test_release_feature_ce_takes_the_raw_teacher_feature_as_target():
    # nn.CrossEntropyLoss(f_s, f_t) with f_t unnormalised: −Σ f_t · log_softmax(f_s) / B
    total = 0.0
    for s, t in zip(S.tolist(), T.tolist()):
        logp = [math.log(p) for p in softmax(s, 1.0)]
        total += -sum(b * a for a, b in zip(logp, t))
    got = FEATURE_LOSSES.get("ce")(S, T).item()
    assert got == pytest.approx(total / len(S), rel=1e-6)
    assert got == pytest.approx(torch.nn.CrossEntropyLoss()(S, T).item(), rel=1e-6)
    assert FEATURE_LOSSES.get("ce_softmax")(S, T).item() != pytest.approx(got, rel=1e-3)
