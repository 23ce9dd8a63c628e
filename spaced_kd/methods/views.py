"""A second augmented view of a step's batch: DLB re-feeds its previous batch this way.

The stream's batch of step t is the first view. The second view takes the same samples through the
same transform, with parameters drawn on a CPU generator seeded from step t's augmentation seed (as
the first view's are drawn), so it is a pure function of (seed, t) as the first is, it leaves the
global random state alone, and replay and resume stay exact.
"""
from __future__ import annotations

import torch
from torch import Tensor

from ..data import Data
from ..data.stream import mix_seed
from ..data.tensor_data import TensorData
from ..errors import UserError

SECOND_VIEW = 1  # mixed into the step's augmentation seed: never a seed the stream itself uses


def view_generator(data: Data, t: int) -> torch.Generator:
    return torch.Generator().manual_seed(mix_seed(data.stream.aug_seed(t), SECOND_VIEW))


def require_second_view(data: Data) -> None:
    """Per-sample pipelines (image folders, augment=timm) transform in loader workers, one view a
    step: no second view to draw there."""
    if not isinstance(data, TensorData):
        raise UserError(f"method=dlb's second view needs an in-memory dataset augmented on the device "
                        f"(dataset.augment=crop_flip); {data.name} is not one: set method.second_view=false "
                        f"to re-feed the same augmented images")


def second_view(data: TensorData, t: int) -> Tensor:
    """Step t's samples, augmented and normalised anew (float32 [B, C, H, W] on the data's device)."""
    images = data.train_eval_tensors()[0]
    idx = data.stream.indices(t).to(images.device)
    return data.augment(images.index_select(0, idx), view_generator(data, t))
