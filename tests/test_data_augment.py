"""Batched device augmentation: crop+flip gather, rotation, normalisation, eval untouched."""
import math

import pytest
import torch
import torch.nn.functional as F

from spaced_kd.config import DatasetConfig
from spaced_kd.data import build_data
from spaced_kd.data.augment import CropFlipParams, Normalise, crop_flip, draw_params, rotate

CPU = torch.device("cpu")


def _digits(**kw):
    return build_data(DatasetConfig(**kw), batch_size=100, seed=0, device=CPU)


def _plain(d, t):
    x, _ = d.train_eval_tensors()
    return d.normalise(x[d.stream.indices(t)])


def test_no_augmentation_equals_plain_normalised_images():
    d = _digits(crop_padding=0, flip=False, rotation=0.0)
    for t in (0, 14, 15):
        assert torch.equal(d.train_batch(t)[0], _plain(d, t))


def test_crop_flip_matches_a_per_sample_reference():
    gen = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (16, 3, 7, 9), dtype=torch.uint8)
    p = draw_params(gen, 16, padding=3, flip=True, rotation=0.0)
    assert int(p.dy.min()) >= 0 and int(p.dy.max()) <= 6 and int(p.dx.max()) <= 6
    out = crop_flip(x, p, padding=3, fill=77)
    padded = F.pad(x, (3, 3, 3, 3), value=77)
    for b in range(16):
        ref = padded[b, :, p.dy[b] : p.dy[b] + 7, p.dx[b] : p.dx[b] + 9]
        assert torch.equal(out[b], ref.flip(-1) if p.flip[b] else ref)
    assert 0 < int(p.flip.sum()) < 16


def test_crop_without_padding_or_flip_is_identity():
    x = torch.randint(0, 256, (4, 1, 5, 5), dtype=torch.uint8)
    zeros = torch.zeros(4, dtype=torch.int64)
    p = CropFlipParams(zeros, zeros, torch.zeros(4, dtype=torch.bool), torch.zeros(4))
    assert torch.equal(crop_flip(x, p, 0, 0), x)


def test_flip_mirrors_some_samples_only():
    d = _digits(crop_padding=0, flip=True, rotation=0.0)
    x, plain = d.train_batch(0)[0], _plain(d, 0)
    same = (x == plain).flatten(1).all(1)
    mirrored = (x == plain.flip(-1)).flatten(1).all(1)
    assert bool((same | mirrored).all())
    assert 10 < int((mirrored & ~same).sum()) < 90


def test_flip_switch_leaves_crops_unchanged():
    on, off = _digits(crop_padding=2, flip=True), _digits(crop_padding=2, flip=False)
    a, b = on.train_batch(3)[0], off.train_batch(3)[0]
    same = (a == b).flatten(1).all(1)
    mirrored = (a == b.flip(-1)).flatten(1).all(1)
    assert bool((same | mirrored).all())


def test_crops_keep_padded_values_in_range():
    d = _digits(crop_padding=4, flip=True, fill=0)
    x = d.train_batch(1)[0]
    lo, hi = d.normalise(torch.tensor([0, 255], dtype=torch.uint8).view(1, 1, 2, 1)).flatten().tolist()
    assert float(x.min()) >= lo - 1e-6 and float(x.max()) <= hi + 1e-6
    assert torch.isclose(x, torch.tensor(lo)).any()  # padding shows up somewhere


def test_rotation_changes_images_and_uses_fill():
    flat = _digits(crop_padding=0, flip=False, rotation=0.0)
    rot = _digits(crop_padding=0, flip=False, rotation=30.0)
    assert not torch.equal(flat.train_batch(0)[0], rot.train_batch(0)[0])
    assert torch.equal(rot.train_batch(0)[0], rot.train_batch(0)[0])

    x = torch.full((2, 3, 16, 16), 200, dtype=torch.uint8)
    out = rotate(x, torch.tensor([45.0, 0.0]), fill=9)
    assert out.dtype == torch.uint8
    assert out[0, :, 0, 0].tolist() == [9, 9, 9]  # a corner rotated out of the image
    assert out[0, :, 8, 8].tolist() == [200, 200, 200]
    assert torch.equal(out[1], x[1])  # 0 degrees is the identity


def test_rotation_matches_grid_sample_nearest():
    gen = torch.Generator().manual_seed(1)
    x = torch.randint(0, 256, (32, 3, 20, 20), dtype=torch.uint8, generator=gen)
    deg = (torch.rand(32, generator=gen) * 2 - 1) * 30
    rad = deg * math.pi / 180
    theta = torch.stack([rad.cos(), -rad.sin(), torch.zeros(32), rad.sin(), rad.cos(), torch.zeros(32)], 1)
    grid = F.affine_grid(theta.view(32, 2, 3), [32, 3, 20, 20], align_corners=False)
    ref = F.grid_sample(x.float() - 7, grid, mode="nearest", align_corners=False) + 7
    out = rotate(x, deg, fill=7)
    # the same pixels up to float32 rounding of grid_sample's grid at exact half-pixel ties
    assert (out.float() != ref).float().mean() < 1e-3
    assert torch.equal(rotate(x, torch.full((32,), 90.0), 0), x.rot90(1, (2, 3))) or \
        torch.equal(rotate(x, torch.full((32,), 90.0), 0), x.rot90(-1, (2, 3)))


def test_rotation_comes_from_the_config():
    cfg = DatasetConfig(crop_padding=0, flip=False, rotation=0.0)
    plain = build_data(cfg, batch_size=50, seed=0, device=CPU)
    cfg.rotation = 20.0  # what recipe=official does through the config
    rotated = build_data(cfg, batch_size=50, seed=0, device=CPU)
    assert not torch.equal(plain.train_batch(0)[0], rotated.train_batch(0)[0])


def test_eval_batches_are_unaugmented_and_complete():
    d = _digits(crop_padding=4, flip=True, rotation=15.0)
    assert d.eval_splits == ["test", "train"]
    x_train, y_train = d.train_eval_tensors()
    xs, ys = zip(*d.eval_batches("train", 128))
    assert torch.equal(torch.cat(xs), d.normalise(x_train)) and torch.equal(torch.cat(ys), y_train)
    test = list(d.eval_batches("test", 1000))
    assert len(test) == 1 and test[0][0].shape == (360, 1, 8, 8)


def test_normalise_uses_mean_and_std():
    n = Normalise([0.5, 0.25], [0.5, 0.25], CPU)
    x = torch.tensor([[0, 255]], dtype=torch.uint8).view(1, 2, 1, 1)
    assert torch.allclose(n(x).flatten(), torch.tensor([-1.0, 3.0]))


def test_custom_stats_override_and_are_checked():
    d = _digits(mean=[0.0], std=[1.0], crop_padding=0, flip=False)
    x, _ = d.train_eval_tensors()
    assert torch.allclose(d.train_batch(0)[0], x[d.stream.indices(0)].float() / 255)
    from spaced_kd.errors import UserError

    with pytest.raises(UserError, match="need 1 values"):
        _digits(mean=[0.1, 0.2, 0.3], std=[1.0, 1.0, 1.0])


def test_global_rng_is_not_disturbed():
    d = _digits(crop_padding=2, flip=True, rotation=10.0, val_fraction=0.1, train_subset=500)
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    d.train_batch(0)
    list(d.train_batches(range(3)))
    assert torch.equal(torch.rand(3), expected)


def test_epoch_at_once_batches_equal_the_step_by_step_transform():
    """TensorData draws an epoch's parameters in one go; every batch, the short last one and the
    ones across an epoch boundary included, equals the step's own draw."""
    from spaced_kd.config import DatasetConfig
    from spaced_kd.data import build_data

    data = build_data(DatasetConfig(name="digits", train_subset=200, rotation=10.0), batch_size=64, seed=5,
                      device=torch.device("cpu"))
    x, y = data._splits["train"]
    spe = data.steps_per_epoch  # 4: the last batch holds 8 samples
    for t in (0, 2, spe - 1, spe, 3 * spe + 1, 1):  # out of order, as a replay reads
        idx = data.stream.indices(t)
        want = data.augment(x.index_select(0, idx), data.stream.generator(t))
        got_x, got_y = data.train_batch(t)
        assert torch.equal(got_x, want) and torch.equal(got_y, y.index_select(0, idx)), t
