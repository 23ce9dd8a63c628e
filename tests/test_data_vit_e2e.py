"""experiment=paper_vit end to end on CPU: DeiT-Tiny at 224 px with timm's strong augmentation."""
import pytest
import torch

from data_fakes import write_cifar100
from helpers import summary, train


@pytest.mark.slow
def test_deit_tiny_at_224_px_with_the_strong_augmentation_completes_an_epoch(tmp_path):
    write_cifar100(tmp_path / "data")
    run = tmp_path / "run"
    r = train("experiment=paper_vit", f"dataset.root={tmp_path / 'data'}", "dataset.train_subset=16",
              "dataset.test_subset=8", "trainer.batch_size=8", "trainer.epochs=1", "kd=spaced", "interval=1",
              "interval_unit=steps", "trainer.threads=1", "dataset.num_workers=0", "trainer.progress=false",
              f"hydra.run.dir={run}", timeout=240)
    assert r.returncode == 0, r.stderr[-3000:]
    s = summary(run)
    assert s["status"] == "completed" and s["events_done"] == s["events"]
    assert (s["config"]["dataset"]["augment"], s["config"]["dataset"]["image_size"]) == ("timm", 224)
    state = torch.load(run / "checkpoints" / "last.pt", map_location="cpu", weights_only=True)["learner"]["models"]
    # 224 px in 16-px patches: a 14 × 14 grid plus the class token, and for the taught student the
    # release's distillation token (recipe.distill_token)
    for role, tokens in (("student", 2), ("teacher", 1)):
        assert state[role]["net.patch_embed.proj.weight"].shape[-2:] == (16, 16)
        assert state[role]["net.pos_embed"].shape == (1, 14 * 14 + tokens, 192)
