"""Small models, images and run directories for the probe tests (no training longer than a second)."""
from __future__ import annotations

import math
from pathlib import Path

import torch
from omegaconf import OmegaConf
from torch import nn


def smooth_images(size: int = 32, channels: int = 3, batch: int = 6) -> torch.Tensor:
    """Smooth test images in [0.2, 0.8] (sinusoids), on the uint8 grid, [B, C, H, W]."""
    yy, xx = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    imgs = []
    for k in range(batch):
        chans = [0.5 + 0.3 * torch.sin(2 * math.pi * (xx * (1 + k % 3) + yy * (c + 1) / 2 + k / 7))
                 for c in range(channels)]
        imgs.append(torch.stack(chans))
    return (torch.stack(imgs) * 255).round() / 255


def blobs(n: int = 256, dim: int = 16, classes: int = 3, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    centres = torch.randn(classes, dim, generator=gen) * 2
    y = torch.arange(n) % classes
    return centres[y] + torch.randn(n, dim, generator=gen), y


def trained_bn_mlp(x: torch.Tensor, y: torch.Tensor, steps: int = 150) -> nn.Module:
    """Linear → BatchNorm → ReLU → Linear, fitted to (x, y) with Adam; returned in eval mode."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(x.shape[1], 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, int(y.max()) + 1))
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(steps):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return model.eval()


def make_run_dir(path: Path, *overrides: str, finished: bool = True) -> Path:
    """A run directory as train.py leaves it — .hydra/config.yaml, summary.json and a format-2
    checkpoint (config, learner, engine) — with the networks at their initial weights: enough for
    everything but the numbers. `finished=False`: a run interrupted halfway (status "running")."""
    import json
    from dataclasses import asdict

    from spaced_kd import checkpoint, rundir
    from spaced_kd.build import build
    from spaced_kd.config import Config, load_config

    base = ["trainer.epochs=1", "dataset.train_subset=128", "dataset.test_subset=64", "trainer.batch_size=32",
            "trainer.device=cpu", *overrides]
    raw = OmegaConf.merge(OmegaConf.structured(Config), OmegaConf.from_dotlist(base))
    cfg = load_config(raw)
    setup = build(cfg)
    config = json.loads(json.dumps(asdict(cfg), default=str))
    done = setup.n_events if finished else setup.n_events // 2
    steps = round(setup.plan.total_steps * done / setup.n_events)
    (path / ".hydra").mkdir(parents=True, exist_ok=True)
    (path / ".hydra" / "config.yaml").write_text(OmegaConf.to_yaml(raw))
    engine = {"event_index": done, "done": {"teacher": steps, "student": steps}, "evaluated": {}, "wall_s": 0.0}
    checkpoint.save(path / rundir.CHECKPOINT, {"config": config, "learner": setup.learner.state_dict(),
                                               "engine": engine})
    rundir.write_summary(path, {"status": "completed" if finished else "running", "config": config,
                                "steps": steps, "events": setup.n_events, "events_done": done, "metrics": {}})
    return path
