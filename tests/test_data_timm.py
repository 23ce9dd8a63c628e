"""dataset.augment=timm: the release's ViT augmentation, built by timm, per sample from stored uint8."""
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from PIL import Image

from spaced_kd.conf_store import register
from spaced_kd.config import DatasetConfig, load_config
from spaced_kd.data import build_data
from spaced_kd.data.array_samples import ArraySampleData
from spaced_kd.data.tensor_data import TensorData
from spaced_kd.data.timm_augment import posterize_zero_bits, train_transform
from spaced_kd.errors import UserError

from data_fakes import write_cifar100, write_image_folder

CPU = torch.device("cpu")
CONF = str(Path(__file__).resolve().parents[1] / "conf")


@pytest.fixture(scope="module")
def cifar(tmp_path_factory):
    root = tmp_path_factory.mktemp("cifar")
    write_cifar100(root)  # 40 train, 20 test images of 32 px
    return root


def _timm(root, name="cifar100", workers=0, image_size=48, batch_size=8, **kw):
    cfg = DatasetConfig(name=name, root=str(root), augment="timm", image_size=image_size, num_workers=workers, **kw)
    cfg.check()
    return build_data(cfg, batch_size=batch_size, seed=0, device=CPU)


def _steps(d):
    return d._train_set.transform.transform.transforms


def test_the_train_transform_is_timms_with_the_release_parameters(cifar):
    from timm.data.auto_augment import RandAugment
    from timm.data.random_erasing import RandomErasing
    from timm.data.transforms import RandomResizedCropAndInterpolation
    from torchvision.transforms import ColorJitter, InterpolationMode, Normalize, RandomHorizontalFlip

    d = _timm(cifar, image_size=224)
    assert isinstance(d, ArraySampleData) and d.image_size == 224
    steps = _steps(d)
    crop = next(s for s in steps if isinstance(s, RandomResizedCropAndInterpolation))
    assert crop.size == (224, 224) and crop.scale == (0.08, 1.0) and crop.interpolation == InterpolationMode.BICUBIC
    assert next(s for s in steps if isinstance(s, RandomHorizontalFlip)).p == 0.5
    ra = next(s for s in steps if isinstance(s, RandAugment))
    assert ra.num_layers == 2 and len(ra.ops) == 15
    assert {(op.magnitude, op.magnitude_std, op.prob) for op in ra.ops} == {(9, 0.5, 0.5)}
    assert "PosterizeIncreasing" in {op.name for op in ra.ops}  # inc1: the increasing-severity ops
    assert {op.kwargs["resample"] for op in ra.ops} == {Image.BICUBIC}
    erase = next(s for s in steps if isinstance(s, RandomErasing))
    assert (erase.probability, erase.mode, erase.max_count) == (0.25, "pixel", 1)
    norm = next(s for s in steps if isinstance(s, Normalize))
    assert tuple(norm.mean.tolist()) == pytest.approx(d.normalise.mean)
    # timm drops ColorJitter while RandAugment is on (as in the release); it is there without it
    assert not any(isinstance(s, ColorJitter) for s in steps)
    jitter = [s for s in train_transform(224, (0.5,) * 3, (0.2,) * 3, auto_augment=None, color_jitter=0.4,
                                         erase_prob=0.25, flip=True).transforms if isinstance(s, ColorJitter)]
    assert len(jitter) == 1 and jitter[0].brightness == pytest.approx((0.6, 1.4))
    no_flip = _timm(cifar, image_size=224, flip=False)
    assert not any(isinstance(s, RandomHorizontalFlip) for s in _steps(no_flip))


@pytest.mark.parametrize("workers", [0, 2])
def test_a_step_is_the_same_bytes_every_time_it_is_materialised(cifar, workers):
    d = _timm(cifar, workers=workers)
    steps = [0, 1, 2, 0, 1, 2, 6, 5]  # replays, and a step back over the epoch boundary (5 steps an epoch)
    got = list(d.train_batches(iter(steps)))
    assert [t for t, _, _ in got] == steps
    reference = _timm(cifar, workers=0)
    for t, x, y in got:
        assert x.shape == (8, 3, 48, 48) and x.dtype == torch.float32
        ex, ey = reference.train_batch(t)
        assert torch.equal(x, ex) and torch.equal(y, ey)
    first = {}
    for t, x, _ in got:
        assert torch.equal(first.setdefault(t, x), x)
    assert not torch.equal(first[0], first[1])


def test_each_sample_is_augmented_anew_at_each_step(cifar):
    d = _timm(cifar)
    index = int(d.stream.indices(0)[0])
    later = next(t for t in range(5, 10) if index in d.stream.indices(t).tolist())  # the same image, epoch 1
    row = d.stream.indices(later).tolist().index(index)
    assert not torch.equal(d.train_batch(0)[0][0], d.train_batch(later)[0][row])
    other_seed = build_data(DatasetConfig(name="cifar100", root=str(cifar), augment="timm", image_size=48, num_workers=0),
                            batch_size=8, seed=1, device=CPU)
    assert not torch.equal(d.train_batch(0)[0], other_seed.train_batch(0)[0])


def test_the_global_generators_are_left_as_they_were(cifar):
    d = _timm(cifar)

    def draws():
        return random.random(), float(np.random.rand()), torch.rand(2).tolist()

    random.seed(7), np.random.seed(7), torch.manual_seed(7)
    expected = draws()
    random.seed(7), np.random.seed(7), torch.manual_seed(7)
    d.train_batch(0)
    list(d.train_batches([1, 2]))
    assert draws() == expected


def test_eval_resizes_the_whole_image_as_the_release_does(cifar):
    from torchvision import transforms

    from spaced_kd.data.sources.cifar100 import read_split

    d = _timm(cifar, image_size=224)
    x, y = next(d.eval_batches("test", 6))
    assert x.shape == (6, 3, 224, 224) and d.eval_splits == ["test", "train"]
    mean = torch.tensor(d.normalise.mean).view(1, 3, 1, 1)
    std = torch.tensor(d.normalise.std).view(1, 3, 1, 1)
    pixels = (x * std + mean) * 255
    raw, labels = read_split(cifar / "cifar-100-python" / "test")
    assert torch.equal(y, labels[:6])
    release = torch.stack([torch.from_numpy(np.array(transforms.Resize((224, 224))(
        Image.fromarray(img.permute(1, 2, 0).numpy())))).permute(2, 0, 1) for img in raw[:6]]).float()
    assert (pixels - release).abs().max() <= 1.01  # PIL's fixed-point rounding: at most one grey level


def test_posterize_to_zero_bits_is_the_old_black_image_not_an_error():
    from timm.data.auto_augment import posterize

    img = Image.fromarray(np.random.default_rng(0).integers(1, 256, (8, 8, 3), dtype=np.uint8))
    assert not np.asarray(posterize_zero_bits(img, 0)).any()
    assert np.array_equal(np.asarray(posterize_zero_bits(img, 3)), np.asarray(posterize(img, 3)))
    # magnitude 10 with no spread: every posterize the policy draws keeps 0 bits
    transform = train_transform(32, (0.5,) * 3, (0.2,) * 3, auto_augment="rand-m10-mstd0-inc1", color_jitter=0.4,
                                erase_prob=0.0, flip=True)
    from spaced_kd.data.timm_augment import seeded

    for seed in range(300):  # ~20 of these draw the posterize op
        with seeded(seed):
            transform(img)


def test_gray_sources_and_folder_sources_take_the_timm_pipeline(tmp_path):
    digits = _timm(None, name="digits", image_size=16, flip=False)
    x, _ = digits.train_batch(0)
    assert x.shape == (8, 1, 16, 16) and next(digits.eval_batches("test", 4))[0].shape == (4, 1, 16, 16)
    tree = write_image_folder(tmp_path / "imagenet100")
    folders = [_timm(tree, name="imagenet100", image_size=16, batch_size=4, workers=w) for w in (0, 2)]
    (t, x0, y0), = folders[1].train_batches([3])
    x1, y1 = folders[0].train_batch(3)
    assert x0.shape == (4, 3, 16, 16) and x0.dtype == torch.float32
    assert torch.equal(x0, x1) and torch.equal(y0, y1)


def test_refusals_are_one_line(cifar):
    with pytest.raises(UserError, match="dataset.augment=timm has no rotation") as err:
        DatasetConfig(augment="timm", rotation=15.0).check()
    assert "\n" not in str(err.value)
    # recipe.rotation reaches build_data without passing through DatasetConfig.check
    with pytest.raises(UserError, match="recipe.rotation=0"):
        build_data(DatasetConfig(name="cifar100", root=str(cifar), augment="timm", rotation=15.0),
                   batch_size=8, seed=0, device=CPU)
    with pytest.raises(UserError, match="dataset.augment='strong' is not allowed"):
        DatasetConfig(augment="strong").check()
    with pytest.raises(UserError, match="not a policy timm understands") as err:
        _timm(cifar, auto_augment="rand-x9-zz")
    assert "\n" not in str(err.value)


def _composed(*overrides):
    register()
    with initialize_config_dir(config_dir=CONF, version_base=None):
        return load_config(compose(config_name="config", overrides=list(overrides)))


def test_paper_vit_is_the_release_pipeline_and_the_native_variant_stays(cifar):
    from spaced_kd.models import build_model

    cfg = _composed("experiment=paper_vit", f"dataset.root={cifar}", "dataset.num_workers=0")
    assert (cfg.dataset.image_size, cfg.dataset.augment) == (224, "timm")
    assert (cfg.loss.logit, cfg.loss.temperature, cfg.loss.alpha, cfg.loss.beta) == ("kl_per_element", 1.0, 0.5, 0.0)
    assert (cfg.optim.no_decay_tokens, cfg.optim.warmup_start, cfg.optim.per_epoch) == (True, 0.001, True)
    native = _composed("experiment=paper_vit", f"dataset.root={cifar}", "dataset.image_size=null",
                       "dataset.augment=crop_flip")
    for c, kind, size, patch in ((cfg, ArraySampleData, 224, 16), (native, TensorData, 32, 4)):
        d = build_data(c.dataset, batch_size=8, seed=0, device=CPU)
        assert isinstance(d, kind) and d.image_size == size
        net = build_model(c.model.name, num_classes=d.num_classes, in_channels=d.in_channels, image_size=d.image_size)
        assert net.patch_size == patch
