"""Decoded once: Tiny-ImageNet (and ImageNet with dataset.decoded_size) cached as uint8 .npy beside
the data, trusted only while the file list and the cache file are what they were."""
import tempfile

import numpy as np
import pytest
import torch
from PIL import Image

from spaced_kd.config import DatasetConfig
from spaced_kd.data import build_data, decode_cache
from spaced_kd.data.folder_transforms import centre_square
from spaced_kd.data.sources import tiny_imagenet
from spaced_kd.data.tensor_data import TensorData
from spaced_kd.errors import UserError

from data_fakes import write_image_folder, write_tiny_imagenet

CPU = torch.device("cpu")


def _tiny(root, **kw):
    return build_data(DatasetConfig(name="tiny_imagenet", root=str(root), **kw), batch_size=4, seed=0, device=CPU)


@pytest.fixture
def decodes(monkeypatch):
    """Counts the images tiny_imagenet decodes."""
    seen = []
    real = tiny_imagenet._decode

    def counting(path):
        seen.append(path)
        return real(path)

    monkeypatch.setattr(tiny_imagenet, "_decode", counting)
    return seen


def _caches(base):
    return sorted(p.name for p in (base / decode_cache.FOLDER).iterdir())


def _same_data(a, b):
    for split in ("train", "test"):
        (xa, ya), (xb, yb) = a._splits[split], b._splits[split]
        assert torch.equal(xa, xb) and torch.equal(ya, yb)


def test_the_first_run_decodes_and_later_runs_read_the_cache(tmp_path, decodes):
    base = write_tiny_imagenet(tmp_path)
    first = _tiny(tmp_path)
    assert len(decodes) == 12 + 6
    assert [n.split("-")[0] for n in _caches(base)] == ["train", "val"]
    decodes.clear()
    later = _tiny(tmp_path)
    assert decodes == []
    _same_data(first, later)
    _same_data(first, _tiny(tmp_path, cache=False))  # the same bytes as a fresh decode
    assert torch.equal(first.train_batch(2)[0], later.train_batch(2)[0])


def test_a_changed_file_list_or_a_replaced_image_is_decoded_again(tmp_path, decodes):
    base = write_tiny_imagenet(tmp_path)
    _tiny(tmp_path)
    before = _caches(base)
    decodes.clear()
    extra = base / "train" / "n02" / "images" / "n02_9.JPEG"
    Image.fromarray(np.full((64, 64, 3), 200, np.uint8)).save(extra)
    grown = _tiny(tmp_path)
    assert str(extra) in decodes and grown.n_train == 13
    assert _caches(base) != before and len(_caches(base)) == 2  # the stale train cache is gone
    decodes.clear()
    replaced = base / "train" / "n01" / "images" / "n01_0.JPEG"
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(replaced)  # same name, other bytes and size
    d = _tiny(tmp_path)
    assert str(replaced) in decodes
    assert not d.train_eval_tensors()[0][0].any()  # the new, black image; not the cached one


@pytest.mark.parametrize("damage", ["truncate", "pad", "garbage"])
def test_a_damaged_cache_is_rebuilt_never_trusted(tmp_path, decodes, damage):
    base = write_tiny_imagenet(tmp_path)
    fresh = _tiny(tmp_path)
    cache = next((base / decode_cache.FOLDER).glob("train-*.npy"))
    raw = cache.read_bytes()
    cache.write_bytes({"truncate": raw[: len(raw) - 4096], "pad": raw + b"\0" * 64,
                       "garbage": b"\x93NUMPY" + bytes(len(raw) - 6)}[damage])
    decodes.clear()
    rebuilt = _tiny(tmp_path)
    assert len(decodes) == 12  # train decoded again; val's cache was whole
    _same_data(fresh, rebuilt)
    assert cache.read_bytes() == raw


def test_a_bad_image_leaves_no_cache_and_no_temporary_file(tmp_path):
    base = write_tiny_imagenet(tmp_path)
    bad = base / "train" / "n03" / "images" / "n03_1.JPEG"
    bad.write_bytes(bad.read_bytes()[:200])
    with pytest.raises(UserError, match="is damaged"):
        _tiny(tmp_path)
    assert list((base / decode_cache.FOLDER).iterdir()) == []


def test_a_read_only_data_folder_caches_elsewhere_with_a_one_line_note(tmp_path, monkeypatch, capsys, decodes):
    base = write_tiny_imagenet(tmp_path / "data")
    real = tempfile.mkstemp

    def read_only(*args, dir=None, **kw):  # as root, chmod would not stop us: refuse like a read-only mount
        if str(dir).startswith(str(base)):
            raise PermissionError(13, "Permission denied")
        return real(*args, dir=dir, **kw)

    monkeypatch.setattr(decode_cache.tempfile, "mkstemp", read_only)
    monkeypatch.setenv(decode_cache.ENV_VAR, str(tmp_path / "elsewhere"))
    first = _tiny(tmp_path / "data")
    notes = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(notes) == 2 and all(n.startswith("note:") and str(tmp_path / "elsewhere") in n for n in notes)
    assert len(list((tmp_path / "elsewhere").rglob("*.npy"))) == 2
    decodes.clear()
    later = _tiny(tmp_path / "data")
    assert decodes == [] and capsys.readouterr().err == ""
    _same_data(first, later)


def test_nowhere_to_write_is_one_line(tmp_path, monkeypatch):
    write_tiny_imagenet(tmp_path)

    def nowhere(*args, **kw):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(decode_cache.tempfile, "mkstemp", nowhere)
    monkeypatch.setenv(decode_cache.ENV_VAR, str(tmp_path / "elsewhere"))
    with pytest.raises(UserError, match="dataset.cache=false") as err:
        _tiny(tmp_path)
    assert "\n" not in str(err.value)
    _tiny(tmp_path, cache=False)  # the way out it names works


def test_imagenet_decoded_size_trains_in_memory_from_a_cache(tmp_path):
    root = write_image_folder(tmp_path / "imagenet100")  # 18–29 px images of any aspect
    cfg = DatasetConfig(name="imagenet100", root=str(root), decoded_size=12, image_size=12)
    cfg.check()
    d = build_data(cfg, batch_size=4, seed=0, device=CPU)
    assert isinstance(d, TensorData) and d.image_size == 12
    assert len(list((root / decode_cache.FOLDER).glob("*.npy"))) == 2
    x, y = d.train_eval_tensors()
    first = sorted((root / "train" / "a_cls").iterdir())[0]
    assert torch.equal(x[0], torch.from_numpy(np.array(centre_square(str(first), 12))).permute(2, 0, 1))
    assert torch.equal(build_data(cfg, batch_size=4, seed=0, device=CPU).train_batch(1)[0], d.train_batch(1)[0])


def test_decoded_size_refusals_are_one_line():
    with pytest.raises(UserError, match="applies to imagenet100 and imagenet1k only"):
        DatasetConfig(name="cifar100", decoded_size=32).check()
    with pytest.raises(UserError, match="would hold every image upsampled to 224 px") as err:
        DatasetConfig(name="imagenet100", decoded_size=64, image_size=224).check()
    assert "\n" not in str(err.value)
    DatasetConfig(name="imagenet100", decoded_size=64, image_size=224, augment="timm").check()  # per sample: fine
