"""Fake run directories with known numbers, written exactly as the run-directory contract says.

The analysis tests build sweeps from these instead of training, so every table cell, fit and
plot can be checked against numbers chosen by hand. `RELEASE` is what `recipe=official` sets, read
from conf/recipe/official.yaml: the paper grids compose it through their experiment preset, so a
fake grid run carries it in its config but not in its command-line overrides (``preset=RELEASE``).
"""
from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any

import yaml

# `pytest` (unlike `python -m pytest`) does not put the repo root on sys.path.
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from spaced_kd.config import Config  # noqa: E402  (the real schema keeps the fakes honest)

# Config groups are selected by name on the command line (kd=spaced), other keys by path.
GROUPS = {"model", "teacher", "dataset", "kd", "kd_mode", "loss", "optim", "recipe", "logger"}


def _dotted(tree: dict, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(_dotted(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


# What `recipe=official` sets (its keys are checked against the schema whenever a run is written).
_OFFICIAL = yaml.safe_load((ROOT / "conf" / "recipe" / "official.yaml").read_text())
RELEASE: dict[str, Any] = _dotted({k: v for k, v in _OFFICIAL.items() if k != "defaults"})


def config(legacy: dict[str, Any] | None = None, missing: tuple[str, ...] = (), **dotted: Any) -> dict:
    """The default resolved config as a nested dict, with ``{"kd.name": "spaced", …}`` applied.

    A key outside the schema is refused (KeyError), so the fakes follow the schema as it changes;
    ``legacy`` adds keys an older version wrote (``loss.name``) and ``missing`` removes keys an
    older version did not write, to fake old run directories on purpose."""
    tree = dataclasses.asdict(Config())

    def parent(key: str, create: bool) -> tuple[dict, str]:
        node = tree
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {}) if create else node[part]
        return node, leaf

    for key, value in dotted.items():
        node, leaf = parent(key, create=False)
        if leaf not in node:
            raise KeyError(f"{key} is not in spaced_kd.config.Config")
        node[leaf] = value
    for key, value in (legacy or {}).items():
        node, leaf = parent(key, create=True)
        node[leaf] = value
    for key in missing:
        node, leaf = parent(key, create=False)
        node.pop(leaf)
    return tree


def override_strings(dotted: dict[str, Any]) -> list[str]:
    out = []
    for key, value in dotted.items():
        group, _, leaf = key.partition(".")
        shown = "null" if value is None else value
        out.append(f"{group}={shown}" if group in GROUPS and leaf == "name" else f"{key}={shown}")
    return out


def make_run(
    root: str | os.PathLike,
    name: str,
    *,
    cfg: dict[str, Any] | None = None,
    status: str | None = "completed",
    student_acc: float | None = None,
    teacher_acc: float | None = None,
    metrics: dict[str, float] | None = None,
    seed: int = 0,
    epochs: int = 4,
    wall_s: float = 12.5,
    steps_per_epoch: int = 10,
    probes: dict | None = None,
    mtime: float | None = None,
    error: str | None = None,
    legacy: dict[str, Any] | None = None,
    missing: tuple[str, ...] = (),
    preset: dict[str, Any] | None = None,
) -> Path:
    """One run dir under root/name. ``status=None`` writes no summary.json (killed before it could).

    ``preset``: dotted keys an experiment preset sets (``RELEASE``): in the config, not in the
    command-line overrides; ``cfg`` wins over it, as a command line wins over a preset.

    metrics.jsonl gets one test evaluation per epoch per role, rising linearly to the final
    accuracy, so the last line carries the same number as summary.json; every role also gets
    its best-over-epochs metric (``<role>_best_acc``), as the tracker writes it.
    ``legacy`` / ``missing``: see `config` (old run directories).
    """
    dotted = dict(cfg or {})
    dotted["seed"] = seed
    dotted.setdefault("trainer.epochs", epochs)
    tree = config(legacy, missing, **{**(preset or {}), **dotted})
    run = Path(root) / name
    (run / ".hydra").mkdir(parents=True, exist_ok=True)
    (run / ".hydra" / "config.yaml").write_text(yaml.safe_dump(tree))
    (run / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(override_strings({**dotted, **(legacy or {})})))

    final = dict(metrics or {})
    if student_acc is not None:
        final["student_acc"] = student_acc
    if teacher_acc is not None:
        final["teacher_acc"] = teacher_acc
    roles = {k[: -len("_acc")]: v for k, v in final.items() if k.endswith("_acc") and "best" not in k}
    for role, acc in roles.items():
        final.setdefault(f"{role}_best_acc", acc)
    done_epochs = epochs if status == "completed" else max(1, epochs // 2)
    with open(run / "metrics.jsonl", "w") as fh:
        for epoch in range(1, done_epochs + 1):
            for role, acc in roles.items():
                frac = epoch / epochs
                fh.write(json.dumps({
                    "epoch": epoch, "step": epoch * steps_per_epoch, "role": role, "split": "test",
                    "acc": round(acc * frac if status == "completed" else acc, 4),
                    "loss": round(4.0 * (1.1 - frac), 4), "wall_s": wall_s * frac,
                }) + "\n")
    if status is not None:
        interval = tree["interval"]
        summary = {
            "status": status,
            "metrics": final if status == "completed" else {},
            "config": tree,
            "seed": seed,
            "steps": done_epochs * steps_per_epoch,
            "steps_per_epoch": steps_per_epoch,
            "interval_steps": int(interval * steps_per_epoch) if tree["kd"]["name"] in ("spaced", "ahead") else None,
            "wall_s": wall_s,
            "error": error if status == "failed" else None,
            "run_dir": str(run),
            "version": "0.1.0",
        }
        (run / "summary.json").write_text(json.dumps(summary))
    if probes is not None:
        (run / "probes.json").write_text(json.dumps(probes))
    if mtime is not None:
        for f in ("summary.json", "metrics.jsonl"):
            if (run / f).exists():
                os.utime(run / f, (mtime, mtime))
    return run


def peer(kd: str, interval: float | None = None, **extra: Any) -> dict[str, Any]:
    """Dotted config for a peer-mode ResNet-18 / CIFAR-100 run (the paper's default cell)."""
    cfg: dict[str, Any] = {"model.name": "resnet18", "dataset.name": "cifar100", "kd.name": kd}
    if interval is not None:
        cfg["interval"] = interval
    cfg.update(extra)
    return cfg


# ---------------------------------------------------------------- a whole paper-like sweep

SEED_OFFSET = {0: -0.2, 1: 0.0, 2: 0.2}  # per-seed shift: every cell's std is 0.2 exactly
BASE = {"resnet18": 68.0, "resnet50": 69.5}
SELF_SPACED_ENSEMBLE = 6.5  # spaced self KD: the ensemble sits this far above the plain network
FEATURES = ("l1", "mse_sum", "ce")  # Tab. 3's feature terms in the fake sweep
IMAGENET_DEIT = 72.0  # Tab. 7: DeiT-Tiny / ImageNet-1K without KD
# `+sweep=table6 recipe=default` beside the release-recipe grid: ResNet-18's row under the paper's
# equations, this far below the release recipe's numbers in every column
DEFAULT_RECIPE_SHIFT = -5.0


def gain(interval: float) -> float:
    """Known interval curve for the fake sweep: peaks at s = 1.5 (2.25 points over online)."""
    return 3.0 * interval - 1.0 * interval**2


def _corruptions(acc: float) -> dict:
    return {name: {str(sev): round(acc - 8 * sev - k, 2) for sev in (1.0, 3.0, 5.0)}
            for k, name in enumerate(["impulse_noise", "zoom_blur", "snow", "frost", "jpeg_compression", "brightness"])}


def _flatness(spaced: bool, seed: int, model: str = "resnet18") -> dict:
    sigmas = [0.0, 0.005, 0.01, 0.02, 0.03]
    slope = (40.0 if spaced else 70.0) * (1.0 if model == "resnet18" else 0.8)
    loss = [0.2 + slope * s * s * 100 + 0.01 * seed for s in sigmas]
    acc = [99.0 - 300 * s * (0.6 if spaced else 1.0) - 0.1 * seed for s in sigmas]
    return {"sigmas": sigmas, "loss_mean": loss, "loss_std": [0.02 + s for s in sigmas],
            "acc_mean": acc, "acc_std": [0.3 + 10 * s for s in sigmas], "area": sum(loss)}


def paper_sweep(root: str | os.PathLike, seeds=(0, 1, 2), epochs: int = 8) -> int:
    """Write a sweep covering every table and figure; returns the number of runs written.

    Its runs are the grids' runs, which compose the release's recipe (``preset=RELEASE``), plus
    ResNet-18's Tab. 6 row run again with ``recipe=default`` (the paper's equations), in the same root."""
    count = 0

    def run(cfg: dict, acc: float, seed: int, teacher: float | None = None, probes: bool = False,
            preset: dict | None = RELEASE, **kw):
        nonlocal count
        value = round(acc + SEED_OFFSET.get(seed, 0.0), 4)
        extra = {}
        if probes:
            spaced = cfg.get("kd.name") == "spaced"
            extra["probes"] = {"flatness": _flatness(spaced, seed, cfg.get("model.name", "resnet18")), "corruptions": _corruptions(value),
                               "bim": {"clean_acc": value, "robust_acc": round(value / 2, 4), "eps": 0.03},
                               "hessian": {"trace": 100.0 - 10 * spaced, "trace_ci": [90.0, 110.0],
                                           "top_eigenvalue": 5.0}}
        make_run(root, f"multirun/{count:04d}", cfg=cfg, student_acc=value, preset=preset,
                 teacher_acc=teacher if teacher is not None else None, seed=seed, epochs=epochs, **extra, **kw)
        count += 1

    for seed in seeds:
        for model, base in BASE.items():
            m = {"model.name": model}
            online = base + 3.0
            run(peer("none", **m), base, seed)
            run(peer("online", **m), online, seed, teacher=base + 0.5, probes=True)
            for s in (0.5, 1.0, 1.5, 2.0):
                run(peer("spaced", s, **m), online + gain(s), seed, teacher=base + 0.5, probes=s == 1.5)
            run(peer("offline", **m), online + 1.0, seed, teacher=base + 0.5)
            # self KD (Tab. 2), interval 4.0; the deepest head is also logged as the student
            run(peer("online", **m, **{"kd_mode.name": "self"}), base + 4.0, seed,
                metrics={"head1_acc": base - 5, "head2_acc": base - 2, "head3_acc": base, "head4_acc": base + 4.0,
                         "ensemble_acc": base + 4.5})
            run(peer("spaced", 4.0, **m, **{"kd_mode.name": "self"}), base + 6.0, seed,
                metrics={"head4_acc": base + 6.0, "ensemble_acc": base + SELF_SPACED_ENSEMBLE})
        r18 = BASE["resnet18"]
        # Tab. 8 / 9: other teachers for a ResNet-18 student
        for teacher, width, t_acc in [("resnet18", 2.0, 69.4), ("resnet18", 4.0, 70.7), ("resnet18", 8.0, 70.8),
                                      ("resnet50", None, 69.2), ("deit_tiny", None, 64.6), ("pit_tiny", None, 73.8)]:
            t = {"teacher.name": teacher, "teacher.width": width}
            run(peer("online", **t), r18 + 3.5, seed, teacher=t_acc)
            run(peer("spaced", 1.5, **t), r18 + 4.5, seed, teacher=t_acc)
            run(peer("offline", **t), r18 + 4.0, seed, teacher=t_acc)
        # Tab. 10: a teacher a constant s ahead
        for s in (0.5, 1.0, 1.5, 2.0, 2.5):
            run(peer("ahead", s), r18 + 3.0 - 0.1 * s, seed, teacher=r18 + 0.5)
        # Tab. 3: the feature term under the release recipe, as the table3 sweep varies it
        for feature in FEATURES:
            run(peer("online", **{"loss.feature": feature}), r18 + 2.5, seed, teacher=r18)
            run(peer("spaced", 1.5, **{"loss.feature": feature}), r18 + 3.5, seed, teacher=r18)
        # Tab. 6's ResNet-18 row again under the paper's equations (`recipe=default` on the command line)
        paper_eq = {"recipe.name": "default"}
        low = BASE["resnet18"] + DEFAULT_RECIPE_SHIFT
        run(peer("none", **paper_eq), low, seed, preset=None)
        run(peer("online", **paper_eq), low + 3.0, seed, teacher=low + 0.5, preset=None)
        for s in (0.5, 1.0, 1.5, 2.0):
            run(peer("spaced", s, **paper_eq), low + 3.0 + gain(s), seed, teacher=low + 0.5, preset=None)
        run(peer("offline", **paper_eq), low + 4.0, seed, teacher=low + 0.5, preset=None)
        # Tab. 7: DeiT-Tiny on ImageNet-1K
        vit = {"model.name": "deit_tiny", "dataset.name": "imagenet1k"}
        run(peer("none", **vit), IMAGENET_DEIT, seed)
        run(peer("online", **vit), IMAGENET_DEIT + 1.0, seed, teacher=IMAGENET_DEIT)
        run(peer("spaced", 1.5, **vit), IMAGENET_DEIT + 2.0, seed, teacher=IMAGENET_DEIT)
        # Fig. 3: critical period, (a) 2-epoch windows and (b) till the end
        for start in (2.0, 4.0, 6.0):
            run(peer("spaced", 1.5, **{"spaced.start_epoch": start}), r18 + 3.0 + 0.3 * start, seed, teacher=r18)
            run(peer("spaced", 1.5, **{"spaced.start_epoch": start - 2, "spaced.end_epoch": start}),
                r18 + 3.0 + 0.2 * start, seed, teacher=r18)
        # Fig. 6: learning rate at batch 128, batch size at lr 0.01
        for lr in (0.005, 0.05):
            run(peer("online", **{"optim.lr": lr}), r18 + 2.0, seed, teacher=r18)
            run(peer("spaced", 1.5, **{"optim.lr": lr}), r18 + 3.0, seed, teacher=r18)
        for bs in (32, 64, 256):
            run(peer("online", **{"trainer.batch_size": bs}), r18 + 2.0 + bs / 256, seed, teacher=r18)
            run(peer("spaced", 1.5, **{"trainer.batch_size": bs}), r18 + 2.0 + bs / 100, seed, teacher=r18)
    # trouble: a failed run, one killed before summary.json, and a rerun of a completed cell
    make_run(root, "multirun/failed", cfg=peer("spaced", 1.5, **{"model.name": "resnet101"}), status="failed",
             seed=0, error="RuntimeError: CUDA out of memory", epochs=epochs, preset=RELEASE)
    make_run(root, "multirun/killed", cfg=peer("spaced", 1.5, **{"model.name": "resnet101"}), status=None,
             student_acc=50.0, teacher_acc=50.0, seed=1, epochs=epochs, preset=RELEASE)
    # a Slurm job killed outright: the sweep wrote its summary with status "killed"
    make_run(root, "multirun/oom", cfg=peer("spaced", 1.5, **{"model.name": "resnet101"}), status="killed",
             seed=2, epochs=epochs, preset=RELEASE)
    return count + 3
