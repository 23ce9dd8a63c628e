"""Each in-memory source on small files the test writes (and Debian's Fashion-MNIST if present)."""
import numpy as np
import pytest
import torch
from PIL import Image

from spaced_kd.config import DatasetConfig
from spaced_kd.data import build_data
from spaced_kd.data.sources.fashion_mnist import DEBIAN_DIR

from data_fakes import write_cifar100, write_fashion, write_tiny_imagenet

CPU = torch.device("cpu")


def _build(name, root=None, batch_size=8, **kw):
    cfg = DatasetConfig(name=name, root=None if root is None else str(root), **kw)
    return build_data(cfg, batch_size=batch_size, seed=0, device=CPU)


# ---- CIFAR-100: the documented cifar-100-python pickles ----

def test_cifar100_reads_the_pickles(tmp_path):
    made = write_cifar100(tmp_path)
    d = _build("cifar100", tmp_path, crop_padding=4, flip=True, rotation=15.0)
    assert (d.num_classes, d.in_channels, d.image_size, d.n_train) == (100, 3, 32, 40)
    x_train, y_train = d.train_eval_tensors()
    data, labels = made["train"]
    # row layout: 1024 red bytes, then green, then blue, each row-major
    assert torch.equal(x_train[3, 1], torch.from_numpy(data[3, 1024:2048].reshape(32, 32)))
    assert y_train.tolist() == labels
    x, y = d.train_batch(0)
    assert x.shape == (8, 3, 32, 32) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert torch.equal(x, d.train_batch(0)[0])
    xt, _ = next(d.eval_batches("test", 100))
    assert xt.shape == (20, 3, 32, 32)
    expect = (torch.from_numpy(made["test"][0][:, :1024].reshape(-1, 32, 32)).float() / 255 - 0.507) / 0.267
    assert torch.allclose(xt[:, 0], expect, atol=1e-5)


def test_cifar100_image_size_resizes_once(tmp_path):
    write_cifar100(tmp_path)
    d = _build("cifar100", tmp_path, image_size=16)
    assert d.image_size == 16 and d.train_batch(1)[0].shape == (8, 3, 16, 16)
    assert d.train_eval_tensors()[0].dtype == torch.uint8


# ---- Tiny-ImageNet: the official folder layout ----

def test_tiny_imagenet_layout(tmp_path):
    base = write_tiny_imagenet(tmp_path)
    d = _build("tiny_imagenet", tmp_path, batch_size=5, crop_padding=4)
    assert (d.num_classes, d.in_channels, d.image_size, d.n_train) == (3, 3, 64, 12)
    x_train, y_train = d.train_eval_tensors()
    # classes are numbered by sorted wnid, as ImageFolder over train/ does
    assert y_train.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    first = np.array(Image.open(base / "train" / "n01" / "images" / "n01_0.JPEG").convert("RGB"))
    assert torch.equal(x_train[0], torch.from_numpy(first).permute(2, 0, 1))
    xt, yt = next(d.eval_batches("test", 64))
    assert xt.shape == (6, 3, 64, 64) and yt.tolist() == [1, 0, 2, 1, 0, 2]
    assert d.train_batch(2)[0].shape == (2, 3, 64, 64)  # last short batch of 12 at batch 5


def test_tiny_imagenet_bad_annotation_is_one_line(tmp_path):
    base = write_tiny_imagenet(tmp_path)
    (base / "val" / "val_annotations.txt").write_text("val_0.JPEG\tn99\t0 0 1 1\n")
    from spaced_kd.errors import UserError

    with pytest.raises(UserError, match="line 1") as err:
        _build("tiny_imagenet", tmp_path)
    assert "\n" not in str(err.value)


# ---- Fashion-MNIST: IDX files, gzipped or not ----

@pytest.mark.parametrize("layout", ["flat_gz", "torchvision_raw"])
def test_fashion_mnist_from_written_idx(tmp_path, layout):
    folder = tmp_path if layout == "flat_gz" else tmp_path / "FashionMNIST" / "raw"
    made = write_fashion(folder, gz=layout == "flat_gz")
    d = _build("fashion_mnist", tmp_path, crop_padding=2)
    assert (d.num_classes, d.in_channels, d.image_size, d.n_train) == (10, 1, 28, 30)
    x_train, y_train = d.train_eval_tensors()
    assert torch.equal(x_train[:, 0], torch.from_numpy(made["train_x"].astype(np.uint8)))
    assert y_train.tolist() == made["train_y"].tolist()
    assert d.train_batch(3)[0].shape == (6, 1, 28, 28)


def test_fashion_mnist_truncated_file_is_a_user_error(tmp_path):
    write_fashion(tmp_path, gz=False)
    p = tmp_path / "train-images-idx3-ubyte"
    p.write_bytes(p.read_bytes()[:-10])
    from spaced_kd.errors import UserError

    with pytest.raises(UserError, match="truncated"):
        _build("fashion_mnist", tmp_path)


@pytest.mark.skipif(not (DEBIAN_DIR / "train-images-idx3-ubyte.gz").is_file(),
                    reason=f"Debian's dataset-fashion-mnist files are not installed at {DEBIAN_DIR}")
def test_fashion_mnist_finds_debian_files_by_itself(tmp_path, monkeypatch):
    monkeypatch.setenv("SPACED_KD_DATA", str(tmp_path / "empty"))
    d = _build("fashion_mnist", batch_size=128, test_subset=500)
    assert d.n_train == 60000 and d.steps_per_epoch == 469
    x, y = d.train_batch(468)
    assert x.shape == (60000 - 468 * 128, 1, 28, 28) and int(y.max()) <= 9
    x_train, _ = d.train_eval_tensors()
    assert abs(x_train[:5000].float().mean().item() / 255 - 0.286) < 0.02


# ---- digits: bundled with scikit-learn ----

def test_digits_split_and_scaling():
    d = _build("digits", batch_size=32)
    assert (d.num_classes, d.in_channels, d.image_size, d.n_train) == (10, 1, 8, 1437)
    x_train, y_train = d.train_eval_tensors()
    assert x_train.dtype == torch.uint8 and int(x_train.max()) == 255
    assert set(x_train.unique().tolist()) <= set(range(0, 256, 16)) | {255}
    test_y = torch.cat([y for _, y in d.eval_batches("test", 100)])
    assert len(test_y) == 360
    # stratified 20% test split: every class has 35 or 36 test samples
    assert set(torch.bincount(test_y).tolist()) <= {35, 36, 37}
    other = _build("digits", split_seed=1)
    assert not torch.equal(other.train_eval_tensors()[1], y_train)


def test_digits_image_size_upsamples():
    d = _build("digits", image_size=16, batch_size=32)
    assert d.image_size == 16 and d.train_batch(0)[0].shape == (32, 1, 16, 16)
