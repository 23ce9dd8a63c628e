"""DeiT-Tiny with a distillation token (Touvron et al.), the model the release's DeiT KD targets.

Optional: `model=deit_tiny_distilled` (`teacher=...` likewise). The default DeiT-Tiny is the plain
class-token model. In training the forward returns three things — the class head's logits (which
the cross-entropy sees), the pooled feature, and the distillation head's logits (which the KD term
sees); in evaluation the two heads' logits are averaged, as DeiT predicts.
"""
from __future__ import annotations

from torch import Tensor

from .registry import MODELS
from .vit import TimmClassifier, patch_size_for


class DistilledClassifier(TimmClassifier):
    def forward(self, x: Tensor):
        tokens = self.net.forward_features(x)
        cls, dist = self.net.head_drop(tokens[:, 0]), self.net.head_drop(tokens[:, 1])
        feature = (cls + dist) / 2  # what timm's pre-logits gives for this model
        logits, kd_logits = self.net.head(cls), self.net.head_dist(dist)
        if self.training:
            return logits, feature, kd_logits
        return (logits + kd_logits) / 2, feature


@MODELS.register("deit_tiny_distilled")
def deit_tiny_distilled(*, num_classes: int, in_channels: int, image_size: int, width: float,
                        drop_path: float) -> DistilledClassifier:
    from .vit import _no_width

    _no_width("deit_tiny_distilled", width)
    patch = patch_size_for(image_size)
    import timm  # slow to import: only when asked for

    net = timm.create_model("deit_tiny_distilled_patch16_224", pretrained=False, num_classes=num_classes,
                            img_size=image_size, in_chans=in_channels, patch_size=patch, drop_path_rate=drop_path)
    return DistilledClassifier(net, patch)
