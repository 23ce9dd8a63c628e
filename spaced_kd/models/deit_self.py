"""DeiT-Tiny self KD: a classifier (LayerNorm + Linear on the class token) after every block.

Not in the release; the paper's DeiT self-KD rows need one. Block 12's classifier is the model's
own final norm + head, so the deepest of the 12 heads is the ordinary DeiT-Tiny.
"""
from __future__ import annotations

from torch import Tensor, nn

from .registry import SELF_MODELS
from .vit import TimmClassifier, deit_tiny


class TokenHead(nn.Module):
    def __init__(self, dim: int, num_classes: int):
        super().__init__()
        self.norm = nn.LayerNorm(dim, eps=1e-6)  # timm's ViT norm eps
        self.fc = nn.Linear(dim, num_classes)
        # Maps the feature for the feature loss; the classifier sees the unadapted token.
        self.adapt = nn.Linear(dim, dim)

    def forward(self, cls_token: Tensor) -> tuple[Tensor, Tensor]:
        feature = self.norm(cls_token)
        return self.fc(feature), self.adapt(feature)


class SelfDeiT(nn.Module):
    """forward(x) → ([logits block 12 … block 1], [features block 12 … block 1])."""

    def __init__(self, backbone: TimmClassifier, num_classes: int):
        super().__init__()
        self.backbone = backbone
        depth = len(backbone.net.blocks)
        self.heads = nn.ModuleList(TokenHead(backbone.feature_dim, num_classes) for _ in range(depth - 1))
        self.num_heads = depth
        self.feature_dim = backbone.feature_dim

    def forward(self, x: Tensor) -> tuple[list[Tensor], list[Tensor]]:
        net = self.backbone.net
        # timm's VisionTransformer.forward_features, unrolled to read the class token after each block.
        x = net.norm_pre(net.patch_drop(net._pos_embed(net.patch_embed(x))))
        shallow = []
        for block, head in zip(net.blocks[:-1], self.heads, strict=True):
            x = block(x)
            shallow.append(head(x[:, 0]))
        x = net.blocks[-1](x)
        feature = net.forward_head(net.norm(x), pre_logits=True)
        all_logits, all_features = [net.head(feature)], [feature]
        for logits, feat in reversed(shallow):
            all_logits.append(logits)
            all_features.append(feat)
        return all_logits, all_features


@SELF_MODELS.register("deit_tiny")
def self_deit_tiny(**kw) -> SelfDeiT:
    return SelfDeiT(deit_tiny(**kw), kw["num_classes"])
