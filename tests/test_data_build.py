"""build_data's checks and splits: missing files, batch size, val hold-out, subsets, names."""
import pytest
import torch

from spaced_kd.config import DatasetConfig
from spaced_kd.data import SOURCES, build_data
from spaced_kd.errors import UserError

CPU = torch.device("cpu")


def _build(batch_size=32, **kw):
    return build_data(DatasetConfig(**kw), batch_size=batch_size, seed=0, device=CPU)


def test_registered_sources():
    assert SOURCES.names() == ["cifar100", "digits", "fashion_mnist", "imagenet100", "imagenet1k", "tiny_imagenet"]


@pytest.mark.parametrize("name,expected", [
    ("cifar100", "cifar-100-python/train"),
    ("tiny_imagenet", "tiny-imagenet-200/wnids.txt"),
    ("imagenet100", "train/<class>/*.JPEG"),
    ("imagenet1k", "train/<class>/*.JPEG"),
    ("fashion_mnist", "train-images-idx3-ubyte"),
])
def test_missing_root_is_one_line_user_error(tmp_path, name, expected):
    root = tmp_path / "nowhere"
    with pytest.raises(UserError) as err:
        _build(name=name, root=str(root))
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(f"dataset {name}: ")
    assert str(root) in msg and expected in msg and "dataset.root=PATH" in msg


def test_default_root_comes_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SPACED_KD_DATA", str(tmp_path))
    with pytest.raises(UserError, match=str(tmp_path / "cifar100")):
        _build(name="cifar100")
    monkeypatch.delenv("SPACED_KD_DATA")
    with pytest.raises(UserError, match=r"under data/tiny_imagenet "):
        _build(name="tiny_imagenet")


def test_imagenet_val_without_images(tmp_path):
    from PIL import Image

    (tmp_path / "train" / "a").mkdir(parents=True)
    (tmp_path / "val" / "z").mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(tmp_path / "train" / "a" / "0.JPEG")
    with pytest.raises(UserError, match="validation images") as err:
        _build(name="imagenet100", root=str(tmp_path), batch_size=1)
    assert "\n" not in str(err.value)


def test_unknown_dataset():
    with pytest.raises(UserError, match="unknown dataset 'cifar10'; choose one of: cifar100, digits"):
        _build(name="cifar10")


def test_batch_larger_than_training_set():
    with pytest.raises(UserError) as err:
        _build(batch_size=512, train_subset=300)
    assert str(err.value) == "trainer.batch_size (512) is larger than the training set (300 samples)"


@pytest.mark.parametrize("kw,match", [
    ({"rotation": -1.0}, "dataset.rotation must be in [0, 180], got -1.0"),
    ({"fill": 300}, "dataset.fill must be in [0, 255], got 300"),
    ({"crop_padding": -1}, "dataset.crop_padding must be an integer >= 0, got -1"),
    ({"val_fraction": 1.0}, "dataset.val_fraction must be in [0, 1), got 1.0"),
    ({"train_subset": 0}, "dataset.train_subset must be an integer >= 1, got 0"),
])
def test_bad_values_are_refused_by_the_config_layer(kw, match):
    # the one validation layer (DatasetConfig.check, run by load_config); build_data relies on it
    from spaced_kd.config import load_config

    with pytest.raises(UserError) as err:
        load_config({"dataset": kw})
    assert str(err.value) == match


@pytest.mark.parametrize("kw,expected", [
    ({"train_subset": 1438}, "dataset.train_subset=1438 is larger than the training set of digits (1437 samples)"),
    ({"train_subset": 1400, "val_fraction": 0.1},
     "dataset.train_subset=1400 is larger than the training set of digits after the dataset.val_fraction "
     "hold-out (1293 samples)"),
    ({"test_subset": 361}, "dataset.test_subset=361 is larger than the test set of digits (360 samples)"),
])
def test_a_subset_larger_than_the_data_is_refused(kw, expected):
    with pytest.raises(UserError) as err:
        _build(**kw)
    assert str(err.value) == expected + "; lower it or remove it"


def test_val_fraction_is_stratified_and_fixed():
    d = _build(val_fraction=0.2)
    assert d.eval_splits == ["test", "val", "train"]
    val_y = torch.cat([y for _, y in d.eval_batches("val", 1000)])
    train_y = d.train_eval_tensors()[1]
    assert len(val_y) == round(0.2 * 1437) and d.n_train == 1437 - len(val_y)
    counts = torch.bincount(val_y, minlength=10).float()
    expected = torch.bincount(torch.cat([val_y, train_y]), minlength=10).float() * 0.2
    assert float((counts - expected).abs().max()) <= 1.0
    # the hold-out depends on split_seed only, not on the run seed
    other_seed = build_data(DatasetConfig(val_fraction=0.2), batch_size=32, seed=9, device=CPU)
    assert torch.equal(other_seed.train_eval_tensors()[0], d.train_eval_tensors()[0])
    moved = _build(val_fraction=0.2, split_seed=1)
    assert not torch.equal(moved.train_eval_tensors()[0], d.train_eval_tensors()[0])


def test_train_and_test_subsets():
    d = _build(val_fraction=0.1, train_subset=200, test_subset=50)
    assert d.n_train == 200 and d.steps_per_epoch == 7
    assert len(torch.cat([y for _, y in d.eval_batches("test", 1000)])) == 50
    assert len(torch.cat([y for _, y in d.eval_batches("val", 1000)])) == 144  # val is not subset
    assert set(torch.bincount(d.train_eval_tensors()[1]).tolist()) <= {19, 20, 21}
    assert _build(train_subset=1437, test_subset=360).n_train == 1437  # the whole set is allowed


def test_unknown_eval_split():
    with pytest.raises(UserError, match="no eval split 'val'"):
        next(_build().eval_batches("val", 10))


def test_dataset_group_files_name_registered_sources():
    from pathlib import Path

    from omegaconf import OmegaConf

    files = sorted((Path(__file__).parents[1] / "conf" / "dataset").glob("*.yaml"))
    assert {f.stem for f in files} == set(SOURCES.names())
    for f in files:
        cfg = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(DatasetConfig), OmegaConf.load(f)))
        assert cfg.name == f.stem
