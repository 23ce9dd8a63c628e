"""Distillation terms: a logit (response) term and a feature term, each chosen by name.

Logit losses take (student_logits, teacher_logits, T) and return the batch-mean term before its
weight α. Temperature scaling by T² is applied by the caller (`LossConfig.t2_scaling`) so every
softened loss is treated alike. Feature losses take (projected student feature, teacher feature).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from .registry import Registry

LogitLoss = Callable[[Tensor, Tensor, float], Tensor]
FeatureLoss = Callable[[Tensor, Tensor], Tensor]

LOGIT_LOSSES: Registry[LogitLoss] = Registry("logit loss")
FEATURE_LOSSES: Registry[FeatureLoss] = Registry("feature loss")


@LOGIT_LOSSES.register("kl")
def kl(s: Tensor, t: Tensor, T: float) -> Tensor:
    """KL(p_t ‖ p_s) at temperature T, averaged over the batch."""
    return F.kl_div(F.log_softmax(s / T, dim=1), F.log_softmax(t / T, dim=1), reduction="batchmean", log_target=True)


@LOGIT_LOSSES.register("kl_softmax_input")
def kl_softmax_input(s: Tensor, t: Tensor, T: float) -> Tensor:
    """The release's term: KLDivLoss fed probabilities, i.e. Σ p_t (log p_t − p_s) / B (not a KL)."""
    p_t = F.softmax(t / T, dim=1)
    return F.kl_div(F.softmax(s / T, dim=1), p_t, reduction="batchmean")


@LOGIT_LOSSES.register("kl_per_element")
def kl_per_element(s: Tensor, t: Tensor, T: float) -> Tensor:
    """The release's DeiT KD term: KL(p_t ‖ p_s) summed, divided by B·C (every logit), not by B."""
    return F.kl_div(F.log_softmax(s / T, dim=1), F.log_softmax(t / T, dim=1), reduction="sum", log_target=True) / s.numel()


@LOGIT_LOSSES.register("soft_ce")
def soft_ce(s: Tensor, t: Tensor, T: float) -> Tensor:
    """Cross-entropy against the teacher's softened distribution: −Σ p_t log p_s / B."""
    return -(F.softmax(t / T, dim=1) * F.log_softmax(s / T, dim=1)).sum(dim=1).mean()


@LOGIT_LOSSES.register("mse_mean")
def logit_mse_mean(s: Tensor, t: Tensor, T: float) -> Tensor:
    return F.mse_loss(s / T, t / T, reduction="mean")


@LOGIT_LOSSES.register("mse_sum")
def logit_mse_sum(s: Tensor, t: Tensor, T: float) -> Tensor:
    return F.mse_loss(s / T, t / T, reduction="sum")


@LOGIT_LOSSES.register("l1")
def logit_l1(s: Tensor, t: Tensor, T: float) -> Tensor:
    return F.l1_loss(s / T, t / T)


@LOGIT_LOSSES.register("smooth_l1")
def logit_smooth_l1(s: Tensor, t: Tensor, T: float) -> Tensor:
    return F.smooth_l1_loss(s / T, t / T)


# Losses whose gradient scale shrinks as 1/T² (Hinton et al.): only these get the T² factor.
SOFTENED = {"kl", "kl_per_element", "kl_softmax_input", "soft_ce"}


@FEATURE_LOSSES.register("l2_dist")
def l2_dist(s: Tensor, t: Tensor) -> Tensor:
    """The release's `torch.dist`: unsquared L2 norm over the whole B×D matrix."""
    return torch.linalg.vector_norm(s - t)


@FEATURE_LOSSES.register("mse_mean")
def feat_mse_mean(s: Tensor, t: Tensor) -> Tensor:
    return F.mse_loss(s, t, reduction="mean")


@FEATURE_LOSSES.register("mse_sum")
def feat_mse_sum(s: Tensor, t: Tensor) -> Tensor:
    return F.mse_loss(s, t, reduction="sum")


@FEATURE_LOSSES.register("l1")
def feat_l1(s: Tensor, t: Tensor) -> Tensor:
    return F.l1_loss(s, t)


@FEATURE_LOSSES.register("smooth_l1")
def feat_smooth_l1(s: Tensor, t: Tensor) -> Tensor:
    return F.smooth_l1_loss(s, t)


@FEATURE_LOSSES.register("ce")
def feat_ce(s: Tensor, t: Tensor) -> Tensor:
    """The release's feature cross-entropy (Tab. 3): nn.CrossEntropyLoss with the raw teacher
    feature as its (unnormalised) target, −Σ f_t · log_softmax(f_s) / B."""
    return -(t * F.log_softmax(s, dim=1)).sum(dim=1).mean()


@FEATURE_LOSSES.register("ce_softmax")
def feat_ce_softmax(s: Tensor, t: Tensor) -> Tensor:
    """Cross-entropy between the feature vectors read as distributions (softmax over D on both sides)."""
    return -(F.softmax(t, dim=1) * F.log_softmax(s, dim=1)).sum(dim=1).mean()


@FEATURE_LOSSES.register("none")
def feat_none(s: Tensor, t: Tensor) -> Tensor:
    return s.new_zeros(())


@dataclass(frozen=True)
class KDLoss:
    """L = (1−α)·CE + α·[T²]·logit(s, t) + β·feature(proj(f_s), f_t)."""

    logit: LogitLoss
    feature: FeatureLoss
    temperature: float
    alpha: float
    beta: float
    t2: bool

    @classmethod
    def from_config(cls, loss_cfg, logit_name: Optional[str] = None) -> "KDLoss":
        name = logit_name or loss_cfg.logit
        scale = loss_cfg.t2_scaling and name in SOFTENED
        return cls(
            LOGIT_LOSSES.get(name), FEATURE_LOSSES.get(loss_cfg.feature),
            loss_cfg.temperature, loss_cfg.alpha, loss_cfg.beta, scale,
        )

    @property
    def uses_features(self) -> bool:
        return self.beta > 0 and self.feature is not feat_none

    def distill(self, s_logits: Tensor, t_logits: Tensor) -> Tensor:
        T = self.temperature
        term = self.logit(s_logits.float(), t_logits.float(), T)
        return term * (T * T) if self.t2 else term

    def __call__(self, s_logits: Tensor, t_logits: Tensor, y: Tensor,
                 s_feat: Optional[Tensor] = None, t_feat: Optional[Tensor] = None,
                 kd_logits: Optional[Tensor] = None) -> dict[str, Tensor]:
        """`kd_logits`: the student's logits the KD term acts on, when not `s_logits` (a DeiT's
        distillation head)."""
        parts = {
            "ce": (1.0 - self.alpha) * F.cross_entropy(s_logits.float(), y),
            "kd": self.alpha * self.distill(s_logits if kd_logits is None else kd_logits, t_logits),
        }
        if self.uses_features and s_feat is not None and t_feat is not None:
            parts["feat"] = self.beta * self.feature(s_feat.float(), t_feat.float())
        return parts
