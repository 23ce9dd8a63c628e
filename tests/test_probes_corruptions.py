"""Corruptions: every (name, severity) changes the image, is seeded, and distorts more as the
severity rises; the official CIFAR-100-C .npy layout is read correctly."""
import numpy as np
import pytest
import torch

from spaced_kd.errors import UserError
from spaced_kd.probes.config import PAPER_CORRUPTIONS, CorruptionsConfig
from spaced_kd.probes.corruption_files import read_npy, texture_files
from spaced_kd.probes.corruption_kernels import CORRUPTIONS, corrupt
from spaced_kd.probes.corruptions import check

from probe_fakes import smooth_images

SHAPES = [(32, 3), (8, 1)]  # the calibration size, and the default digits set


def rmse(a, b):
    return float(((a - b) ** 2).mean().sqrt())


def one_minus_corr(a, b):
    a, b = a.flatten(1), b.flatten(1)
    a, b = a - a.mean(1, keepdim=True), b - b.mean(1, keepdim=True)
    return float((1 - (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1))).mean())


def test_the_paper_corruptions_are_registered():
    assert set(PAPER_CORRUPTIONS) <= set(CORRUPTIONS.names())


@pytest.mark.parametrize("size, channels", SHAPES)
@pytest.mark.parametrize("name", PAPER_CORRUPTIONS)
def test_each_severity_changes_the_image_within_range(name, size, channels):
    x = smooth_images(size, channels, batch=4)
    for severity in range(1, 6):
        y = corrupt(x, name, severity, seed=0)
        assert y.shape == x.shape and y.dtype == torch.float32
        assert float(y.min()) >= 0 and float(y.max()) <= 1
        assert torch.equal((y * 255).round() / 255, y)  # on the uint8 grid, as stored datasets are
        assert float((y - x).abs().max()) > 1 / 255, (name, severity)


@pytest.mark.parametrize("name", PAPER_CORRUPTIONS)
def test_seeded(name):
    x = smooth_images(32, 3, batch=4)
    assert torch.equal(corrupt(x, name, 3, seed=7), corrupt(x, name, 3, seed=7))
    if name in ("impulse_noise", "snow", "frost"):  # the random ones
        assert not torch.equal(corrupt(x, name, 3, seed=7), corrupt(x, name, 3, seed=8))


@pytest.mark.parametrize("size, channels", SHAPES + [(32, 1)])
@pytest.mark.parametrize("name", PAPER_CORRUPTIONS)
def test_distortion_grows_with_severity(name, size, channels):
    # Distortion = RMSE to the clean image, except frost: its higher severities also dim the image
    # (weight 1 → 0.75) while adding more texture, so the pixel change is not monotone but the
    # clean image's share of the result is (1 − correlation). Same seed: same random draws.
    x = smooth_images(size, channels, batch=32 if name == "snow" else 8)
    measure = one_minus_corr if name == "frost" else rmse
    d = [measure(corrupt(x, name, s, seed=0), x) for s in range(1, 6)]
    assert d[0] < d[2] < d[4], d  # the paper's intensities 1, 3, 5
    if name == "snow" and size != 32:
        # away from the calibration size snow's severities 4 and 5 coincide in pixel distortion
        # (severity 5's longer blur, scaled to the image, smears its flakes thinner)
        assert all(b > 0.95 * a for a, b in zip(d, d[1:])), d
    else:
        assert all(b > a for a, b in zip(d, d[1:])), d


def test_impulse_positions_are_nested_across_severities():
    x = smooth_images(32, 3, batch=2)
    hit = [(corrupt(x, "impulse_noise", s, seed=1) != x) for s in range(1, 6)]
    assert all(bool((a & ~b).sum() == 0) for a, b in zip(hit, hit[1:]))


def test_brightness_is_a_shift_of_hsv_value():
    color = pytest.importorskip("skimage.color")
    x = smooth_images(32, 3, batch=2)
    x[0, :, :4, :4] = 0  # black pixels become grey
    for severity, c in zip(range(1, 6), (0.05, 0.1, 0.15, 0.2, 0.3)):
        hsv = color.rgb2hsv(x.permute(0, 2, 3, 1).numpy())
        hsv[..., 2] = np.clip(hsv[..., 2] + c, 0, 1)
        ref = torch.from_numpy(color.hsv2rgb(hsv)).permute(0, 3, 1, 2).float()
        assert float((corrupt(x, "brightness", severity) - ref).abs().max()) <= 0.5 / 255 + 1e-6


def test_frost_textures_ship_with_imagecorruptions_or_come_from_a_folder(tmp_path):
    assert len(texture_files()) == 6 and all("imagecorruptions" in str(f) for f in texture_files())
    from PIL import Image

    Image.fromarray(np.full((40, 50, 3), 200, np.uint8)).save(tmp_path / "ice.png")
    x = smooth_images(32, 3, batch=2)
    y = corrupt(x, "frost", 5, frost_dir=str(tmp_path))
    assert torch.allclose(y, ((0.75 * x + 0.45 * 200 / 255).clamp(0, 1) * 255).round() / 255, atol=1.01 / 255)
    with pytest.raises(UserError, match="no .png/.jpg frost textures"):
        corrupt(x, "frost", 1, frost_dir=str(tmp_path / "empty"))


@pytest.mark.parametrize("name, severity, expected", [
    ("fog_of_war", 1, "unknown corruption 'fog_of_war'; choose one of: brightness"),
    ("snow", 0, "severity must be an integer in 1..5, got 0"),
    ("snow", 6, "severity must be an integer in 1..5, got 6"),
    ("snow", 2.5, "got 2.5"),
])
def test_bad_name_or_severity(name, severity, expected):
    with pytest.raises(UserError, match=expected):
        corrupt(smooth_images(8, 1, 1), name, severity)
    with pytest.raises(UserError, match=expected.split(";")[0]):
        check(CorruptionsConfig(names=[name], severities=[severity]))


def write_cifar_c(folder, n=5):
    """A tiny CIFAR-100-C: snow.npy [5n, 8, 8, 3] (severity-major) and labels.npy. Image value = a
    class code; at severity s the first s of the n images carry their label's code, the rest a wrong one."""
    labels = np.tile(np.arange(n) % 3, 5).astype(np.int64)
    images = np.zeros((5 * n, 8, 8, 3), np.uint8)
    for s in range(1, 6):
        for i in range(n):
            k = (s - 1) * n + i
            code = labels[k] if i < s else (labels[k] + 1) % 3
            images[k] = 40 * (code + 1)
    np.save(folder / "snow.npy", images)
    np.save(folder / "labels.npy", labels)
    return labels


def test_reads_the_cifar_c_npy_layout(tmp_path):
    labels = write_cifar_c(tmp_path)
    for s in range(1, 6):
        x, y = read_npy(str(tmp_path), "snow", s)
        assert x.shape == (5, 3, 8, 8) and x.dtype == torch.uint8
        assert y.tolist() == labels[(s - 1) * 5 : s * 5].tolist()
        predicted = x.float().mean((1, 2, 3)).div(40).round().long() - 1
        assert int((predicted == y).sum()) == s  # the slice of severity s, in order
    x, y = read_npy(str(tmp_path), "snow", 2, limit=2)
    assert x.shape[0] == 2 and y.shape[0] == 2
    with pytest.raises(UserError, match="frost.npy is missing"):
        read_npy(str(tmp_path), "frost", 1)
    np.save(tmp_path / "labels.npy", np.zeros(7, np.int64))
    with pytest.raises(UserError, match="expected \\[5·N, H, W, C\\] images and 5·N labels"):
        read_npy(str(tmp_path), "snow", 1)
