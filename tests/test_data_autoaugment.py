"""dataset.augment=autoaugment_cutout and recipe.self_augment: the release's self-KD CIFAR augmentation
(crop with grey fill, flip, torchvision's CIFAR-10 AutoAugment, Cutout, CIFAR-10 statistics), per
sample, still a pure function of (seed, step); and the self-KD "w/o KD" arm on the online pipeline."""
import random
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from spaced_kd import recipe
from spaced_kd.config import DatasetConfig
from spaced_kd.data import build_data
from spaced_kd.data.array_samples import ArraySampleData
from spaced_kd.data.autoaugment_cutout import Cutout
from spaced_kd.errors import UserError

from data_fakes import write_cifar100, write_image_folder

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def cifar(tmp_path_factory):
    root = tmp_path_factory.mktemp("cifar")
    write_cifar100(root)  # 40 train, 20 test images of 32 px
    return root


def composed(*overrides):
    from test_recipe import composed as compose
    return compose(*overrides)


def official_self(cifar, *more):
    return composed("recipe=official", "experiment=paper_self_kd", f"dataset.root={cifar}", "dataset.num_workers=0",
                    *more)


def data(cfg, batch_size=8, seed=0):
    return build_data(cfg, batch_size=batch_size, seed=seed, device=CPU)


def test_official_self_kd_on_cifar_is_the_releases_transform(cifar):
    from torchvision import transforms as T

    d = data(recipe.data_config(official_self(cifar)))
    assert isinstance(d, ArraySampleData) and d.image_size == 32
    steps = d._train_set.transform.transform.transforms
    assert [type(s).__name__ for s in steps] == ["RandomCrop", "RandomHorizontalFlip", "AutoAugment", "ToTensor",
                                                 "Cutout", "Normalize"]
    crop, _, policy, _, cutout, norm = steps
    assert (crop.size, crop.padding, crop.fill) == ((32, 32), 4, 128)
    assert policy.policy == T.AutoAugmentPolicy.CIFAR10 and policy.fill == [128.0] * 3
    assert (cutout.holes, cutout.length) == (1, 16)
    assert tuple(norm.mean) == tuple(recipe.CIFAR10_MEAN) and tuple(norm.std) == tuple(recipe.CIFAR10_STD)
    assert d.normalise.mean == tuple(recipe.CIFAR10_MEAN)  # the test set too, as the release's test transform


def test_the_batch_differs_from_crop_flip_and_is_a_pure_function_of_seed_and_step(cifar):
    cfg = recipe.data_config(official_self(cifar))
    plain = data(replace(cfg, augment="crop_flip", fill=128))  # same statistics, same pad: crop and flip only
    d = data(cfg)
    for t in (0, 3):
        x, y = d.train_batch(t)
        px, py = plain.train_batch(t)
        assert torch.equal(y, py) and x.shape == px.shape == (8, 3, 32, 32)
        assert not torch.allclose(x, px, atol=1e-3)
    steps = [0, 1, 2, 0, 6, 5, 1]  # replays, and back over an epoch boundary (5 steps an epoch)
    fresh = data(cfg)
    for t, x, y in d.train_batches(iter(steps)):
        ex, ey = fresh.train_batch(t)
        assert torch.equal(x, ex) and torch.equal(y, ey)
    assert not torch.equal(d.train_batch(0)[0], data(cfg, seed=1).train_batch(0)[0])
    # each sample is a function of its own seed, whichever worker process builds it
    workers = data(replace(cfg, num_workers=2))
    for t, x, _ in workers.train_batches(iter([0, 4])):
        assert torch.equal(x, d.train_batch(t)[0])


def test_sampling_leaves_the_global_generators_as_they_were(cifar):
    d = data(recipe.data_config(official_self(cifar)))
    torch.manual_seed(5), random.seed(5), np.random.seed(5)
    states = torch.get_rng_state(), random.getstate(), np.random.get_state()[1].copy()
    d.train_batch(0)
    assert torch.equal(torch.get_rng_state(), states[0]) and random.getstate() == states[1]
    assert np.array_equal(np.random.get_state()[1], states[2])


def test_cutout_zeroes_one_square_clipped_at_the_border():
    cut = Cutout(1, 16)
    sizes = set()
    for seed in range(200):
        torch.manual_seed(seed)
        out = cut(torch.ones(3, 32, 32))
        holes = (out == 0).all(0)
        assert torch.equal((out == 0)[0], holes)  # every channel alike
        rows, cols = holes.any(1).nonzero(), holes.any(0).nonzero()
        h, w = len(rows), len(cols)
        assert int(holes.sum()) == h * w and h <= 16 and w <= 16  # one filled rectangle
        sizes.add((h, w))
    assert (16, 16) in sizes and any(h < 16 or w < 16 for h, w in sizes)  # whole inside, clipped at an edge


def test_where_the_switch_applies(cifar):
    def aug(*more):
        return recipe.data_config(official_self(cifar, *more)).augment

    assert aug() == "autoaugment_cutout"
    assert aug("recipe.self_augment=false") == "crop_flip"
    assert aug("kd_mode=peer") == "crop_flip"  # the online pipeline crops, flips and rotates
    assert aug("+arm=none") == "crop_flip"  # w/o KD: the online pipeline's plain network (below)
    assert aug("dataset=tiny_imagenet") == "crop_flip"  # the release's Tiny-ImageNet loader
    assert aug("dataset.augment=timm") == "timm"  # a choice made by hand stands
    assert composed("experiment=paper_self_kd").dataset.augment == "crop_flip"
    with pytest.raises(UserError, match="dataset.augment=autoaugment_cutout has no rotation"):
        DatasetConfig(augment="autoaugment_cutout", rotation=15.0).check()


def test_folders_refuse_it_in_one_line(tmp_path):
    root = tmp_path / "in100"
    write_image_folder(root)
    with pytest.raises(UserError, match="autoaugment_cutout is the release's CIFAR self-KD pipeline") as err:
        data(DatasetConfig(name="imagenet100", root=str(root), augment="autoaugment_cutout", num_workers=0), 2)
    assert "\n" not in str(err.value)


def test_self_kd_without_kd_runs_the_online_pipelines_plain_resnet(cifar):
    """The paper's Tab. 2 w/o KD numbers are its Tab. 1 ones: the release's online-KD script's
    ResNet (crop, flip, RandomRotation(15), CIFAR-100 statistics, PyTorch's init, 2-GPU BatchNorm)."""
    base = official_self(cifar, "+arm=none")
    peer = composed("recipe=official", "experiment=paper_resnet", f"dataset.root={cifar}", "+arm=none")
    assert base.kd_mode.name == "self" and base.kd.name == "none"
    for cfg in (base, peer):
        d = recipe.data_config(cfg)
        assert (d.augment, d.rotation, d.fill, d.mean) == ("crop_flip", 15.0, 0, None)
        assert recipe.pytorch_init(cfg) and recipe.bn_split(cfg) == 2
    spaced = official_self(cifar)
    assert not recipe.pytorch_init(spaced) and recipe.data_config(spaced).rotation == 0
