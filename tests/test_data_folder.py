"""ImageFolder sources (imagenet100 / imagenet1k) through the DataLoader path, at 16 px."""
import itertools

import pytest
import torch

from spaced_kd.config import DatasetConfig
from spaced_kd.data import build_data

from data_fakes import write_image_folder

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return write_image_folder(tmp_path_factory.mktemp("imagenet100"))


def _build(root, workers=0, **kw):
    cfg = DatasetConfig(name=kw.pop("name", "imagenet100"), root=str(root), image_size=16, num_workers=workers, **kw)
    return build_data(cfg, batch_size=kw.pop("batch_size", 4), seed=0, device=CPU)


def test_folder_metadata_and_eval(tree):
    d = _build(tree)
    assert (d.num_classes, d.in_channels, d.image_size, d.n_train, d.steps_per_epoch) == (3, 3, 16, 21, 6)
    assert d.eval_splits == ["test", "train"]
    xs, ys = zip(*d.eval_batches("test", 4))
    assert torch.cat(xs).shape == (9, 3, 16, 16)
    assert torch.cat(ys).tolist() == [0] * 3 + [1] * 3 + [2] * 3  # sorted class folders
    again = torch.cat([x for x, _ in d.eval_batches("test", 5)])
    assert torch.equal(torch.cat(xs), again)  # eval is deterministic and batch-size independent


def test_train_batch_is_deterministic_and_seeded(tree):
    d = _build(tree)
    x1, y1 = d.train_batch(3)
    d.train_batch(0)
    x2, y2 = d.train_batch(3)
    assert x1.shape == (4, 3, 16, 16) and x1.dtype == torch.float32
    assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert not torch.equal(x1, d.train_batch(4)[0])
    assert d.train_batch(5)[0].shape[0] == 1  # 21 = 5·4 + 1
    other = build_data(DatasetConfig(name="imagenet100", root=str(tree), image_size=16, num_workers=0),
                       batch_size=4, seed=1, device=CPU)
    assert not torch.equal(x1, other.train_batch(3)[0])


def test_global_rng_is_not_disturbed(tree):
    d = _build(tree)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    d.train_batch(0)
    list(d.train_batches([1, 2]))
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("workers", [0, 2])
def test_dataloader_path_matches_train_batch(tree, workers):
    d = _build(tree, workers=workers, rotation=10.0)
    steps = [0, 1, 2, 0, 1, 2, 6, 5]  # replays and a step back across an epoch boundary
    got = list(d.train_batches(iter(steps)))
    assert [t for t, _, _ in got] == steps
    reference = _build(tree, workers=0, rotation=10.0)
    for t, x, y in got:
        ex, ey = reference.train_batch(t)
        assert torch.equal(x, ex) and torch.equal(y, ey)


def test_lazy_infinite_steps(tree):
    d = _build(tree, workers=2)
    batches = d.train_batches(itertools.count())
    seen = [t for t, _, _ in itertools.islice(batches, 7)]
    batches.close()
    assert seen == list(range(7))


def test_val_hold_out_and_subset(tree):
    d = _build(tree, name="imagenet1k", val_fraction=0.3, train_subset=9)
    assert d.eval_splits == ["test", "val", "train"]
    assert d.n_train == 9
    val_y = torch.cat([y for _, y in d.eval_batches("val", 100)])
    assert len(val_y) == 6 and torch.bincount(val_y).tolist() == [2, 2, 2]
    assert set(torch.cat([y for _, y in d.eval_batches("train", 100)]).tolist()) == {0, 1, 2}


def test_default_image_size_is_224(tree):
    d = build_data(DatasetConfig(name="imagenet100", root=str(tree), num_workers=0), batch_size=2, seed=0, device=CPU)
    assert d.image_size == 224 and d.train_batch(0)[0].shape == (2, 3, 224, 224)
    assert next(d.eval_batches("test", 2))[0].shape == (2, 3, 224, 224)
