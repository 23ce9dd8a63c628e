"""Networks: `build_model` for classifiers, `build_self_model` for BYOT-style self-KD networks.

Importing the architecture modules fills the registries.
"""
from . import cifar_resnet, deit_distilled, deit_self, small_resnet, vit  # noqa: F401  (registration side effects)
from .registry import MODELS, SELF_MODELS, build_model, build_self_model

__all__ = ["MODELS", "SELF_MODELS", "build_model", "build_self_model"]
