"""Data files that are planted or damaged: nothing in them runs, and each is one line naming the file.

A pickle that would run a command (the audit's exploit of the CIFAR-100 reader), images that are
not what their name says, truncated or random bytes and files of the wrong structure, for every
source that reads files.
"""
import gzip
import pickle

import numpy as np
import pytest
import torch

from spaced_kd.config import DatasetConfig
from spaced_kd.data import build_data
from spaced_kd.data.sources.cifar100 import read_split
from spaced_kd.errors import UserError

from data_fakes import RunsACommand, write_cifar100, write_fashion, write_image_folder, write_tiny_imagenet
from helpers import FAST, one_line_error, train

CPU = torch.device("cpu")


def _build(name, root, batch_size=4, **kw):
    return build_data(DatasetConfig(name=name, root=str(root), **kw), batch_size=batch_size, seed=0, device=CPU)


def _refusal(name, root, **kw) -> str:
    with pytest.raises(UserError) as err:
        _build(name, root, **kw)
    message = str(err.value)
    assert "\n" not in message
    return message


def plant_cifar100(root, marker, protocol=2):
    """A CIFAR-100 tree whose `train` pickle carries the command in its 'data' entry."""
    write_cifar100(root)
    entry = {b"data": RunsACommand(marker), b"fine_labels": [0]}
    (root / "cifar-100-python" / "train").write_bytes(pickle.dumps(entry, protocol=protocol))
    return root / "cifar-100-python" / "train"


def test_the_planted_pickle_is_a_real_exploit(tmp_path):
    # the control: a plain pickle.load of the same bytes does run the command
    path = plant_cifar100(tmp_path / "data", tmp_path / "control")
    pickle.loads(path.read_bytes())
    assert (tmp_path / "control").exists()


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_cifar100_reader_refuses_a_pickle_that_calls_a_command(tmp_path, protocol):
    marker = tmp_path / "ran"
    path = plant_cifar100(tmp_path / "data", marker, protocol)
    with pytest.raises(UserError) as err:
        read_split(path)
    assert not marker.exists()
    message = str(err.value)
    assert "\n" not in message and str(path) in message and "system" in message and "nothing in it was run" in message


def test_train_py_refuses_the_planted_pickle_in_one_line(tmp_path):
    marker = tmp_path / "ran"
    plant_cifar100(tmp_path / "data", marker)
    r = train(*FAST, "dataset=cifar100", f"dataset.root={tmp_path / 'data'}", f"hydra.run.dir={tmp_path / 'run'}")
    line = one_line_error(r)
    assert str(tmp_path / "data" / "cifar-100-python" / "train") in line and "refused" in line
    assert not marker.exists()


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_a_real_format_cifar_pickle_still_loads(tmp_path, protocol):
    # str keys (re-pickled under Python 3), numpy arrays for both entries, numpy-integer labels
    made = write_cifar100(tmp_path)
    for split, (data, labels) in made.items():
        entry = {"data": data, "fine_labels": np.asarray(labels, np.int64), "coarse_labels": [np.int64(0)] * len(labels),
                 "filenames": [b"x.png"] * len(labels), "batch_label": "training batch 1 of 1"}
        (tmp_path / "cifar-100-python" / split).write_bytes(pickle.dumps(entry, protocol=protocol))
    d = _build("cifar100", tmp_path)
    x, y = d.train_eval_tensors()
    assert torch.equal(x.reshape(x.shape[0], -1), torch.from_numpy(made["train"][0]))
    assert y.tolist() == made["train"][1] and d.num_classes == 100


def _pickled(obj) -> bytes:
    return pickle.dumps(obj, protocol=2)


GOOD = {b"data": np.zeros((4, 3072), np.uint8), b"fine_labels": [0, 1, 2, 3]}


@pytest.mark.parametrize("content, expected", [
    (lambda good: good[: len(good) // 2], "is not a readable pickle"),
    (lambda good: np.random.default_rng(0).bytes(4096), "is not a readable pickle"),
    (lambda good: b"", "is not a readable pickle"),
    (lambda good: _pickled([1, 2, 3]), "holds a list, not a dict"),
    (lambda good: _pickled({b"fine_labels": [0]}), "no 'data' entry"),
    (lambda good: _pickled({**GOOD, b"data": np.zeros((4, 3072), np.float32)}), "expected uint8 [N, 3072]"),
    (lambda good: _pickled({**GOOD, b"data": np.zeros((4, 100), np.uint8)}), "expected uint8 [N, 3072]"),
    (lambda good: _pickled({**GOOD, b"fine_labels": [0, 1]}), "expected 4 integers"),
    (lambda good: _pickled({**GOOD, b"fine_labels": ["a", "b", "c", "d"]}), "expected 4 integers"),
], ids=["truncated", "random", "empty", "list", "no-data", "float-data", "short-rows", "few-labels", "text-labels"])
def test_a_garbage_cifar_file_is_one_line_naming_it(tmp_path, content, expected):
    write_cifar100(tmp_path)
    path = tmp_path / "cifar-100-python" / "train"
    path.write_bytes(content(path.read_bytes()))
    message = _refusal("cifar100", tmp_path)
    assert str(path) in message and expected in message


def test_a_garbage_cifar_meta_file_is_one_line_naming_it(tmp_path):
    write_cifar100(tmp_path)
    meta = tmp_path / "cifar-100-python" / "meta"
    meta.write_bytes(_pickled({b"fine_label_names": 7}))
    message = _refusal("cifar100", tmp_path)
    assert str(meta) in message and "fine_label_names" in message


# ---- Fashion-MNIST: IDX files


def _gz(path):
    return path.with_name(path.name + ".gz")


@pytest.mark.parametrize("damage, expected", [
    (lambda p: _gz(p).write_bytes(_gz(p).read_bytes()[:-20]), "cannot read"),  # the gzip stream ends early
    (lambda p: _gz(p).write_bytes(np.random.default_rng(1).bytes(3000)), "cannot read"),  # not gzip at all
    (lambda p: _gz(p).write_bytes(gzip.compress(np.random.default_rng(1).bytes(3000))), "is not a uint8 IDX file"),
    (lambda p: _gz(p).write_bytes(gzip.compress(b"\0\0\x08\x03" + (2).to_bytes(4, "big"))), "is not a uint8 IDX file"),
], ids=["truncated-gzip", "random-bytes", "random-idx", "short-header"])
def test_a_garbage_idx_file_is_one_line_naming_it(tmp_path, damage, expected):
    write_fashion(tmp_path, gz=True)
    path = tmp_path / "train-images-idx3-ubyte"
    damage(path)
    message = _refusal("fashion_mnist", tmp_path)
    assert str(_gz(path)) in message and expected in message


def test_idx_labels_of_the_wrong_shape_or_count(tmp_path):
    made = write_fashion(tmp_path, gz=False)
    labels = tmp_path / "train-labels-idx1-ubyte"
    images = (tmp_path / "train-images-idx3-ubyte").read_bytes()
    labels.write_bytes(images)  # an image file where the labels should be: 3 dimensions, not 1
    assert str(labels) in _refusal("fashion_mnist", tmp_path)
    short = made["train_y"][:-1].astype(np.uint8)
    labels.write_bytes(b"\0\0\x08\x01" + len(short).to_bytes(4, "big") + short.tobytes())
    message = _refusal("fashion_mnist", tmp_path)
    assert f"{len(made['train_y'])} images" in message and f"{len(short)} labels" in message


# ---- images: Tiny-ImageNet (decoded once) and ImageFolder trees (decoded per step)


def _eps_named_jpeg(path):
    # PIL picks a decoder by content: unrestricted, this would go to its EPS plugin (Ghostscript)
    path.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\nnewpath 0 0 moveto showpage\n")


def _truncated(path):
    path.write_bytes(path.read_bytes()[:300])


def _random(path):
    path.write_bytes(np.random.default_rng(2).bytes(2000))


@pytest.mark.parametrize("damage, expected", [
    (_random, "is not an image file of an allowed format"),
    (_eps_named_jpeg, "is not an image file of an allowed format"),
    (_truncated, "is damaged"),
], ids=["random", "eps", "truncated"])
@pytest.mark.parametrize("where", ["train/n01/images/n01_2.JPEG", "val/images/val_3.JPEG"])
def test_a_bad_tiny_imagenet_image_is_one_line_naming_it(tmp_path, damage, expected, where):
    base = write_tiny_imagenet(tmp_path)
    damage(base / where)
    message = _refusal("tiny_imagenet", tmp_path)
    assert str(base / where) in message and expected in message


def test_tiny_imagenet_text_files_that_are_not_text_or_leave_the_tree(tmp_path):
    base = write_tiny_imagenet(tmp_path)
    (base / "wnids.txt").write_bytes(b"\xff\xfe\x00garbage\x80")
    message = _refusal("tiny_imagenet", tmp_path)
    assert str(base / "wnids.txt") in message and "as text" in message
    (base / "wnids.txt").write_text("n01\n../../elsewhere\n")
    message = _refusal("tiny_imagenet", tmp_path)
    assert str(base / "wnids.txt") in message and "'../../elsewhere'" in message


@pytest.fixture
def folder_tree(tmp_path):
    root = write_image_folder(tmp_path / "imagenet100", per_class=2, val_per_class=1)
    bad = sorted((root / "train" / "a_cls").iterdir())[0]
    _truncated(bad)
    bad_val = sorted((root / "val" / "b_cls").iterdir())[0]
    _eps_named_jpeg(bad_val)
    return root, bad, bad_val


@pytest.mark.parametrize("workers", [0, 1])
def test_a_bad_folder_image_is_one_line_from_a_worker_too(folder_tree, workers):
    root, bad, bad_val = folder_tree
    d = _build("imagenet100", root, batch_size=6, image_size=16, num_workers=workers)  # one step: all 6 images
    with pytest.raises(UserError) as err:
        list(d.train_batches([0]))
    assert str(err.value).startswith(f"image {bad} is damaged") and "\n" not in str(err.value)
    with pytest.raises(UserError) as err:
        list(d.eval_batches("test", 3))
    assert str(err.value).startswith(f"{bad_val} is not an image file") and "\n" not in str(err.value)
    with pytest.raises(UserError, match="is damaged"):
        d.train_batch(0)
