"""Files evaluate.py reads that are planted or damaged: the checkpoint, .hydra/config.yaml, the
CIFAR-100-C arrays, frost textures. Nothing in them runs; each is one line naming the file."""
import shutil

import numpy as np
import pytest
import torch

from spaced_kd import rundir
from spaced_kd.errors import UserError
from spaced_kd.probes import run_probes
from spaced_kd.probes.corruption_files import read_npy
from spaced_kd.probes.corruption_kernels import corrupt

from data_fakes import RunsACommand
from helpers import one_line_error, run_script
from probe_fakes import make_run_dir, smooth_images


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return make_run_dir(tmp_path_factory.mktemp("run") / "run", "kd.name=online")


@pytest.fixture
def run(template, tmp_path):
    return shutil.copytree(template, tmp_path / "run")


def test_a_checkpoint_that_would_run_a_command_is_refused_by_evaluate_py(run, tmp_path):
    marker = tmp_path / "ran"
    path = run / rundir.CHECKPOINT
    torch.save({"format": 2, "learner": RunsACommand(marker)}, path)
    with pytest.raises(Exception):  # the control: torch's weights-only loader is what stands in the way
        torch.load(path, weights_only=True)
    r = run_script("evaluate.py", f"run_dir={run}", "probe=bim")
    line = one_line_error(r)
    assert r.returncode == 2 and str(path) in line and "unreadable" in line
    assert not marker.exists() and not (run / "probes.json").exists()
    torch.load(path, weights_only=False)  # and the file is a real exploit
    assert marker.exists()


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 not a zip", np.random.default_rng(0).bytes(5000)],
                         ids=["empty", "bad-zip", "random"])
def test_a_garbage_checkpoint_is_one_line(run, content):
    path = run / rundir.CHECKPOINT
    path.write_bytes(content)
    with pytest.raises(UserError) as err:
        run_probes(run, "bim", echo=None)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_a_config_yaml_that_would_run_a_command_is_refused(run, tmp_path):
    # a format-1 checkpoint holds no config, so .hydra/config.yaml is read
    marker = tmp_path / "ran"
    path = run / rundir.CHECKPOINT
    state = torch.load(path, weights_only=True)
    state.pop("config")
    torch.save({**state, "format": 1}, path)
    config = run / rundir.CONFIG
    config.write_text(f"seed: !!python/object/apply:os.system ['touch {marker}']\n")
    with pytest.raises(UserError) as err:
        run_probes(run, "bim", echo=None)
    assert str(config) in str(err.value) and "unreadable" in str(err.value) and "\n" not in str(err.value)
    assert not marker.exists()
    config.write_bytes(b"\xff\xfe: [unclosed\n")
    with pytest.raises(UserError, match="unreadable"):
        run_probes(run, "bim", echo=None)
    config.write_text("- a list\n- not a config\n")
    with pytest.raises(UserError, match="not a mapping"):
        run_probes(run, "bim", echo=None)


# ---- CIFAR-100-C arrays


def _cifar_c(folder, n=2):
    folder.mkdir(exist_ok=True)
    np.save(folder / "snow.npy", np.zeros((5 * n, 8, 8, 3), np.uint8))
    np.save(folder / "labels.npy", np.zeros(5 * n, np.int64))
    return folder


def test_an_npy_array_of_objects_is_refused_not_unpickled(tmp_path):
    marker = tmp_path / "ran"
    folder = _cifar_c(tmp_path / "c")
    planted = np.empty(10, dtype=object)
    planted[0] = RunsACommand(marker)
    np.save(folder / "labels.npy", planted, allow_pickle=True)
    with pytest.raises(UserError) as err:
        read_npy(str(folder), "snow", 1)
    assert str(err.value) == (f"corruptions.npy_dir={folder}: {folder / 'labels.npy'} holds Python objects, not "
                              f"numbers; refused (nothing in it was run)")
    assert not marker.exists()
    np.load(folder / "labels.npy", allow_pickle=True)  # the control: unrestricted, it runs
    assert marker.exists()


@pytest.mark.parametrize("damage, expected", [
    (lambda p: p.write_bytes(p.read_bytes()[:100]), "cannot read {path} (EOF"),
    (lambda p: p.write_bytes(np.random.default_rng(0).bytes(500)), "{path} is not an .npy file"),
    (lambda p: np.savez(open(p, "wb"), a=np.zeros(3)), "{path} is a zip (.npz) archive"),
    (lambda p: np.save(p, np.zeros((10, 8, 8, 3), np.float32)), "snow.npy holds float32, expected uint8"),
], ids=["truncated", "random", "npz", "float"])
def test_a_garbage_npy_is_one_line_naming_it(tmp_path, damage, expected):
    folder = _cifar_c(tmp_path / "c")
    path = folder / "snow.npy"
    damage(path)
    with pytest.raises(UserError) as err:
        read_npy(str(folder), "snow", 1)
    assert expected.format(path=path) in str(err.value) and "\n" not in str(err.value)


# ---- frost textures


@pytest.mark.parametrize("content, expected", [
    (np.random.default_rng(0).bytes(800), "is not an image file of an allowed format"),
    (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\nshowpage\n", "is not an image file of an allowed format"),
], ids=["random", "eps"])
def test_a_bad_frost_texture_is_one_line_naming_it(tmp_path, content, expected):
    texture = tmp_path / "ice.png"
    texture.write_bytes(content)
    with pytest.raises(UserError) as err:
        corrupt(smooth_images(8, 1, 1), "frost", 1, frost_dir=str(tmp_path))
    assert str(err.value) == f"{texture} {expected} (JPEG, PNG, BMP, PPM, TIFF, WEBP)"
