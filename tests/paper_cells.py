"""The paper's cells, written by hand from its tables and figures: one entry per grid in sweeps/.

Source: ../shared/paper/000_49bc8eb3025f570f.txt (Tab. 1, 2, 6, 8, 9, 10, 11, 12 as text; Tab. 3, 5,
7 and Fig. 3, 4, 5, 6 from their captions and Sec. 5). Every cell runs with 3 seeds (Sec. 5.1:
"all results are averaged over three repeats").

A cell is (dataset, network, teacher, column, *extra):
- dataset, network: config names (dataset.name, and the student's architecture as built:
  `spaced_kd.recipe.student_model`, so a taught DeiT-Tiny under the release's recipe is
  deit_tiny_distilled, as the release's KD configs build it);
- teacher: "-" for w/o KD (no teacher), "same" for a teacher of the student's own architecture,
  "self" for self KD (the deepest head), else the teacher's name, with ×k width as "resnet18x4";
- column: none (w/o KD, Baseline) · online (w/o Ours, interval 0) · spaced<s> (w/ Ours, w/<s>) ·
  offline (w/max, Offline KD) · ahead<s> (Tab. 10's constant-ahead teacher);
- extra: the values of the grid's other varied keys, named in `Grid.extra`.

`Grid.settings` are the paper's settings that every run of the grid must have (dotted config keys).
The recipe is the one that produced the paper's numbers: the release's (`recipe.name: official`) in
every grid that reproduces a published number; Tab. 4's methods and the CPU replication use the
default recipe.
This file is data: change it only when the paper's cells are read differently, never to follow a
grid file.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Grid:
    settings: dict[str, Any]
    cells: list[tuple]
    extra: tuple[str, ...] = ()
    seeds: tuple[int, ...] = (0, 1, 2)


# Sec. 5.1, ResNets: SGD, momentum 0.9, batch 128, 80 epochs, constant lr 0.01; T = 3, β = 0.03, α = 0.3.
RESNET = {"optim.name": "sgd", "optim.lr": 0.01, "optim.momentum": 0.9, "optim.scheduler": "constant",
          "trainer.batch_size": 128, "trainer.epochs": 80, "loss.temperature": 3.0, "loss.alpha": 0.3,
          "loss.beta": 0.03, "recipe.name": "official", "probes": []}
# Sec. 5.1, transformers: AdamW, batch 128, 300 epochs, 20 warm-up epochs, cosine 5e-4 → 5e-6.
VIT = {"optim.name": "adamw", "optim.lr": 5e-4, "optim.min_lr": 5e-6, "optim.scheduler": "cosine",
       "optim.warmup_epochs": 20.0, "trainer.batch_size": 128, "trainer.epochs": 300, "recipe.name": "official",
       "probes": []}
# Tab. 8/9's ViT teachers of a ResNet-18: the release's ViT pipeline, each network on its own config
# (vit/configs/resnet/r-18_c100.yaml for the student, the ViT configs' AdamW for the teacher), 224 px.
VIT_TEACHER = {"optim.name": "sgd", "optim.lr": 0.1, "optim.scheduler": "cosine", "teacher.optim.name": "adamw",
               "teacher.optim.lr": 5e-4, "teacher.optim.min_lr": 5e-6, "teacher.optim.warmup_epochs": 20.0,
               "dataset.image_size": 224, "trainer.batch_size": 128, "trainer.epochs": 300,
               "recipe.name": "official", "probes": []}
# Self KD on DeiT-Tiny: the transformer training with Sec. 5.1's KD terms.
VIT_SELF = {**VIT, "loss.temperature": 3.0, "loss.alpha": 0.3, "loss.beta": 0.03}

PAPER_CELLS: dict[str, Grid] = {
    # Tab. 1, ResNet rows on CIFAR-100 and Tiny-ImageNet: w/o KD · w/o Ours · w/ Ours (s = 1.5).
    "table1": Grid(RESNET, [
        ("cifar100", "resnet18", "-", "none"),
        ("cifar100", "resnet18", "same", "online"),
        ("cifar100", "resnet18", "same", "spaced1.5"),
        ("cifar100", "resnet50", "-", "none"),
        ("cifar100", "resnet50", "same", "online"),
        ("cifar100", "resnet50", "same", "spaced1.5"),
        ("cifar100", "resnet101", "-", "none"),
        ("cifar100", "resnet101", "same", "online"),
        ("cifar100", "resnet101", "same", "spaced1.5"),
        ("tiny_imagenet", "resnet18", "-", "none"),
        ("tiny_imagenet", "resnet18", "same", "online"),
        ("tiny_imagenet", "resnet18", "same", "spaced1.5"),
        ("tiny_imagenet", "resnet50", "-", "none"),
        ("tiny_imagenet", "resnet50", "same", "online"),
        ("tiny_imagenet", "resnet50", "same", "spaced1.5"),
        ("tiny_imagenet", "resnet101", "-", "none"),
        ("tiny_imagenet", "resnet101", "same", "online"),
        ("tiny_imagenet", "resnet101", "same", "spaced1.5"),
    ]),
    # Tab. 1, ImageNet-100: ResNet-18 and ResNet-50 only.
    "table1_in100": Grid(RESNET, [
        ("imagenet100", "resnet18", "-", "none"),
        ("imagenet100", "resnet18", "same", "online"),
        ("imagenet100", "resnet18", "same", "spaced1.5"),
        ("imagenet100", "resnet50", "-", "none"),
        ("imagenet100", "resnet50", "same", "online"),
        ("imagenet100", "resnet50", "same", "spaced1.5"),
    ]),
    # Tab. 1, DeiT-Tiny and PiT-Tiny rows on all three data sets; a taught DeiT-Tiny is the release's
    # distillation-token student with a plain DeiT-Tiny teacher (PiT has no such token).
    "table1_vit": Grid(VIT, [
        ("cifar100", "deit_tiny", "-", "none"),
        ("cifar100", "deit_tiny_distilled", "deit_tiny", "online"),
        ("cifar100", "deit_tiny_distilled", "deit_tiny", "spaced1.5"),
        ("cifar100", "pit_tiny", "-", "none"),
        ("cifar100", "pit_tiny", "same", "online"),
        ("cifar100", "pit_tiny", "same", "spaced1.5"),
        ("tiny_imagenet", "deit_tiny", "-", "none"),
        ("tiny_imagenet", "deit_tiny_distilled", "deit_tiny", "online"),
        ("tiny_imagenet", "deit_tiny_distilled", "deit_tiny", "spaced1.5"),
        ("tiny_imagenet", "pit_tiny", "-", "none"),
        ("tiny_imagenet", "pit_tiny", "same", "online"),
        ("tiny_imagenet", "pit_tiny", "same", "spaced1.5"),
        ("imagenet100", "deit_tiny", "-", "none"),
        ("imagenet100", "deit_tiny_distilled", "deit_tiny", "online"),
        ("imagenet100", "deit_tiny_distilled", "deit_tiny", "spaced1.5"),
        ("imagenet100", "pit_tiny", "-", "none"),
        ("imagenet100", "pit_tiny", "same", "online"),
        ("imagenet100", "pit_tiny", "same", "spaced1.5"),
    ]),
    # Tab. 2 (self KD, s = 4.0), ResNet rows on CIFAR-100 and Tiny-ImageNet.
    "table2": Grid(RESNET, [
        ("cifar100", "resnet18", "-", "none"),
        ("cifar100", "resnet18", "self", "online"),
        ("cifar100", "resnet18", "self", "spaced4"),
        ("cifar100", "resnet50", "-", "none"),
        ("cifar100", "resnet50", "self", "online"),
        ("cifar100", "resnet50", "self", "spaced4"),
        ("cifar100", "resnet101", "-", "none"),
        ("cifar100", "resnet101", "self", "online"),
        ("cifar100", "resnet101", "self", "spaced4"),
        ("tiny_imagenet", "resnet18", "-", "none"),
        ("tiny_imagenet", "resnet18", "self", "online"),
        ("tiny_imagenet", "resnet18", "self", "spaced4"),
        ("tiny_imagenet", "resnet50", "-", "none"),
        ("tiny_imagenet", "resnet50", "self", "online"),
        ("tiny_imagenet", "resnet50", "self", "spaced4"),
        ("tiny_imagenet", "resnet101", "-", "none"),
        ("tiny_imagenet", "resnet101", "self", "online"),
        ("tiny_imagenet", "resnet101", "self", "spaced4"),
    ]),
    # Tab. 2, ImageNet-100: ResNet-18 only.
    "table2_in100": Grid(RESNET, [
        ("imagenet100", "resnet18", "-", "none"),
        ("imagenet100", "resnet18", "self", "online"),
        ("imagenet100", "resnet18", "self", "spaced4"),
    ]),
    # Tab. 2, DeiT-Tiny rows on all three data sets.
    "table2_vit": Grid(VIT_SELF, [
        ("cifar100", "deit_tiny", "-", "none"),
        ("cifar100", "deit_tiny", "self", "online"),
        ("cifar100", "deit_tiny", "self", "spaced4"),
        ("tiny_imagenet", "deit_tiny", "-", "none"),
        ("tiny_imagenet", "deit_tiny", "self", "online"),
        ("tiny_imagenet", "deit_tiny", "self", "spaced4"),
        ("imagenet100", "deit_tiny", "-", "none"),
        ("imagenet100", "deit_tiny", "self", "online"),
        ("imagenet100", "deit_tiny", "self", "spaced4"),
    ]),
    # Tab. 3: ResNet-18 / CIFAR-100, five KD losses (the release's feature term, recipe=official)
    # × w/o Ours · w/ Ours (s = 1.5).
    "table3": Grid(RESNET, [
        ("cifar100", "resnet18", "same", "online", "l1"),
        ("cifar100", "resnet18", "same", "spaced1.5", "l1"),
        ("cifar100", "resnet18", "same", "online", "smooth_l1"),
        ("cifar100", "resnet18", "same", "spaced1.5", "smooth_l1"),
        ("cifar100", "resnet18", "same", "online", "mse_mean"),
        ("cifar100", "resnet18", "same", "spaced1.5", "mse_mean"),
        ("cifar100", "resnet18", "same", "online", "mse_sum"),
        ("cifar100", "resnet18", "same", "spaced1.5", "mse_sum"),
        ("cifar100", "resnet18", "same", "online", "ce"),
        ("cifar100", "resnet18", "same", "spaced1.5", "ce"),
    ], extra=("loss.feature",)),
    # Tab. 6, ResNet rows: Baseline · w/o · w/0.5 · w/1.0 · w/1.5 · w/2.0 · w/max.
    "table6": Grid(RESNET, [
        ("cifar100", "resnet18", "-", "none"),
        ("cifar100", "resnet18", "same", "online"),
        ("cifar100", "resnet18", "same", "spaced0.5"),
        ("cifar100", "resnet18", "same", "spaced1"),
        ("cifar100", "resnet18", "same", "spaced1.5"),
        ("cifar100", "resnet18", "same", "spaced2"),
        ("cifar100", "resnet18", "same", "offline"),
        ("cifar100", "resnet50", "-", "none"),
        ("cifar100", "resnet50", "same", "online"),
        ("cifar100", "resnet50", "same", "spaced0.5"),
        ("cifar100", "resnet50", "same", "spaced1"),
        ("cifar100", "resnet50", "same", "spaced1.5"),
        ("cifar100", "resnet50", "same", "spaced2"),
        ("cifar100", "resnet50", "same", "offline"),
        ("cifar100", "resnet101", "-", "none"),
        ("cifar100", "resnet101", "same", "online"),
        ("cifar100", "resnet101", "same", "spaced0.5"),
        ("cifar100", "resnet101", "same", "spaced1"),
        ("cifar100", "resnet101", "same", "spaced1.5"),
        ("cifar100", "resnet101", "same", "spaced2"),
        ("cifar100", "resnet101", "same", "offline"),
        ("tiny_imagenet", "resnet18", "-", "none"),
        ("tiny_imagenet", "resnet18", "same", "online"),
        ("tiny_imagenet", "resnet18", "same", "spaced0.5"),
        ("tiny_imagenet", "resnet18", "same", "spaced1"),
        ("tiny_imagenet", "resnet18", "same", "spaced1.5"),
        ("tiny_imagenet", "resnet18", "same", "spaced2"),
        ("tiny_imagenet", "resnet18", "same", "offline"),
        ("tiny_imagenet", "resnet50", "-", "none"),
        ("tiny_imagenet", "resnet50", "same", "online"),
        ("tiny_imagenet", "resnet50", "same", "spaced0.5"),
        ("tiny_imagenet", "resnet50", "same", "spaced1"),
        ("tiny_imagenet", "resnet50", "same", "spaced1.5"),
        ("tiny_imagenet", "resnet50", "same", "spaced2"),
        ("tiny_imagenet", "resnet50", "same", "offline"),
        ("tiny_imagenet", "resnet101", "-", "none"),
        ("tiny_imagenet", "resnet101", "same", "online"),
        ("tiny_imagenet", "resnet101", "same", "spaced0.5"),
        ("tiny_imagenet", "resnet101", "same", "spaced1"),
        ("tiny_imagenet", "resnet101", "same", "spaced1.5"),
        ("tiny_imagenet", "resnet101", "same", "spaced2"),
        ("tiny_imagenet", "resnet101", "same", "offline"),
    ]),
    # Tab. 6, DeiT-Tiny and PiT-Tiny rows (CIFAR-100 and Tiny-ImageNet); DeiT KD as in table1_vit.
    "table6_vit": Grid(VIT, [
        ("cifar100", "deit_tiny", "-", "none"),
        ("cifar100", "deit_tiny_distilled", "deit_tiny", "online"),
        ("cifar100", "deit_tiny_distilled", "deit_tiny", "spaced0.5"),
        ("cifar100", "deit_tiny_distilled", "deit_tiny", "spaced1"),
        ("cifar100", "deit_tiny_distilled", "deit_tiny", "spaced1.5"),
        ("cifar100", "deit_tiny_distilled", "deit_tiny", "spaced2"),
        ("cifar100", "deit_tiny_distilled", "deit_tiny", "offline"),
        ("cifar100", "pit_tiny", "-", "none"),
        ("cifar100", "pit_tiny", "same", "online"),
        ("cifar100", "pit_tiny", "same", "spaced0.5"),
        ("cifar100", "pit_tiny", "same", "spaced1"),
        ("cifar100", "pit_tiny", "same", "spaced1.5"),
        ("cifar100", "pit_tiny", "same", "spaced2"),
        ("cifar100", "pit_tiny", "same", "offline"),
        ("tiny_imagenet", "deit_tiny", "-", "none"),
        ("tiny_imagenet", "deit_tiny_distilled", "deit_tiny", "online"),
        ("tiny_imagenet", "deit_tiny_distilled", "deit_tiny", "spaced0.5"),
        ("tiny_imagenet", "deit_tiny_distilled", "deit_tiny", "spaced1"),
        ("tiny_imagenet", "deit_tiny_distilled", "deit_tiny", "spaced1.5"),
        ("tiny_imagenet", "deit_tiny_distilled", "deit_tiny", "spaced2"),
        ("tiny_imagenet", "deit_tiny_distilled", "deit_tiny", "offline"),
        ("tiny_imagenet", "pit_tiny", "-", "none"),
        ("tiny_imagenet", "pit_tiny", "same", "online"),
        ("tiny_imagenet", "pit_tiny", "same", "spaced0.5"),
        ("tiny_imagenet", "pit_tiny", "same", "spaced1"),
        ("tiny_imagenet", "pit_tiny", "same", "spaced1.5"),
        ("tiny_imagenet", "pit_tiny", "same", "spaced2"),
        ("tiny_imagenet", "pit_tiny", "same", "offline"),
    ]),
    # Tab. 7: DeiT-Tiny on ImageNet-1K (s = 1.5); the columns follow Tab. 1 (the table is an image).
    "table7": Grid(VIT, [
        ("imagenet1k", "deit_tiny", "-", "none"),
        ("imagenet1k", "deit_tiny_distilled", "deit_tiny", "online"),
        ("imagenet1k", "deit_tiny_distilled", "deit_tiny", "spaced1.5"),
    ]),
    # Tab. 8: ResNet-18 student on CIFAR-100; Baseline = the teacher's accuracy in the online runs.
    "table8": Grid(RESNET, [
        ("cifar100", "resnet18", "resnet18x2", "online"),
        ("cifar100", "resnet18", "resnet18x2", "spaced1.5"),
        ("cifar100", "resnet18", "resnet18x4", "online"),
        ("cifar100", "resnet18", "resnet18x4", "spaced1.5"),
        ("cifar100", "resnet18", "resnet18x8", "online"),
        ("cifar100", "resnet18", "resnet18x8", "spaced1.5"),
        ("cifar100", "resnet18", "resnet50", "online"),
        ("cifar100", "resnet18", "resnet50", "spaced1.5"),
        ("cifar100", "resnet18", "resnet101", "online"),
        ("cifar100", "resnet18", "resnet101", "spaced1.5"),
    ]),
    # Tab. 8, Architecture rows: the release's ViT pipeline's ResNet-18 (ImageNet stem) learns from a
    # DeiT-Tiny / PiT-Tiny, each network on its own release recipe (experiment=paper_vit_teacher).
    "table8_vit": Grid(VIT_TEACHER, [
        ("cifar100", "resnet18_imagenet", "deit_tiny", "online"),
        ("cifar100", "resnet18_imagenet", "deit_tiny", "spaced1.5"),
        ("cifar100", "resnet18_imagenet", "pit_tiny", "online"),
        ("cifar100", "resnet18_imagenet", "pit_tiny", "spaced1.5"),
    ]),
    # Tab. 9: ResNet-18 student on CIFAR-100; Offline KD · Spaced KD.
    "table9": Grid(RESNET, [
        ("cifar100", "resnet18", "resnet18x2", "offline"),
        ("cifar100", "resnet18", "resnet18x2", "spaced1.5"),
        ("cifar100", "resnet18", "resnet18x4", "offline"),
        ("cifar100", "resnet18", "resnet18x4", "spaced1.5"),
        ("cifar100", "resnet18", "resnet18x8", "offline"),
        ("cifar100", "resnet18", "resnet18x8", "spaced1.5"),
    ]),
    # Tab. 9, Architecture rows (as table8_vit).
    "table9_vit": Grid(VIT_TEACHER, [
        ("cifar100", "resnet18_imagenet", "deit_tiny", "offline"),
        ("cifar100", "resnet18_imagenet", "deit_tiny", "spaced1.5"),
        ("cifar100", "resnet18_imagenet", "pit_tiny", "offline"),
        ("cifar100", "resnet18_imagenet", "pit_tiny", "spaced1.5"),
    ]),
    # Tab. 4 (Sec. 5.2, App. A.3): a ResNet-18 student on CIFAR-100, six methods, each w/o KD · KD (the
    # method as published: BAN and TAKD offline, the others online) · w/ Ours (spaced, s = 1.5).
    # Teachers: BAN, DML, DLB, PSKD the student's architecture; TAKD ResNet-50 (→ ResNet-34 assistant);
    # SHAKE ResNet-34 (the paper does not name them: docs/methods.md).
    "table4": Grid({"recipe.name": "default", "probes": [], "dataset.name": "cifar100", "interval": 1.5}, [
        *[("cifar100", "resnet18", "-" if col == "none" else t, col, m)
          for m, t, kd in [("ban", "same", "offline"), ("takd", "resnet50", "offline"), ("dml", "same", "online"),
                           ("shake", "resnet34", "online"), ("dlb", "same", "online"), ("pskd", "same", "online")]
          for col in ("none", kd, "spaced1.5")],
    ], extra=("method.name",)),
    # Tab. 10: ResNet-18 / CIFAR-100, interval 0 (online KD), 0.5, 1, 1.5, 2, 2.5 epochs ahead.
    "table10": Grid(RESNET, [
        ("cifar100", "resnet18", "same", "online"),
        ("cifar100", "resnet18", "same", "ahead0.5"),
        ("cifar100", "resnet18", "same", "ahead1"),
        ("cifar100", "resnet18", "same", "ahead1.5"),
        ("cifar100", "resnet18", "same", "ahead2"),
        ("cifar100", "resnet18", "same", "ahead2.5"),
    ]),
    # Tab. 5, 11, 12 and Fig. 4: ResNet-18/50/101 on CIFAR-100, w/o Ours (online) · w/ Ours (s = 1.5),
    # probed at the end of training.
    "probes": Grid({**RESNET, "probes": ["flatness", "corruptions", "bim"]}, [
        ("cifar100", "resnet18", "same", "online"),
        ("cifar100", "resnet18", "same", "spaced1.5"),
        ("cifar100", "resnet50", "same", "online"),
        ("cifar100", "resnet50", "same", "spaced1.5"),
        ("cifar100", "resnet101", "same", "online"),
        ("cifar100", "resnet101", "same", "spaced1.5"),
    ]),
    # Fig. 3: ResNet-18 / CIFAR-100, spaced KD (s = 1.5) in [start, end) epochs, online KD elsewhere:
    # (a) 10-epoch windows, (b) till the end (end None).
    "fig3": Grid(RESNET, [
        ("cifar100", "resnet18", "same", "spaced1.5", 0, 10),
        ("cifar100", "resnet18", "same", "spaced1.5", 10, 20),
        ("cifar100", "resnet18", "same", "spaced1.5", 20, 30),
        ("cifar100", "resnet18", "same", "spaced1.5", 30, 40),
        ("cifar100", "resnet18", "same", "spaced1.5", 40, 50),
        ("cifar100", "resnet18", "same", "spaced1.5", 50, 60),
        ("cifar100", "resnet18", "same", "spaced1.5", 60, 70),
        ("cifar100", "resnet18", "same", "spaced1.5", 70, 80),
        ("cifar100", "resnet18", "same", "spaced1.5", 0, None),
        ("cifar100", "resnet18", "same", "spaced1.5", 10, None),
        ("cifar100", "resnet18", "same", "spaced1.5", 20, None),
        ("cifar100", "resnet18", "same", "spaced1.5", 30, None),
        ("cifar100", "resnet18", "same", "spaced1.5", 40, None),
        ("cifar100", "resnet18", "same", "spaced1.5", 50, None),
        ("cifar100", "resnet18", "same", "spaced1.5", 60, None),
        ("cifar100", "resnet18", "same", "spaced1.5", 70, None),
    ], extra=("spaced.start_epoch", "spaced.end")),
    # Fig. 5: ResNet-18 on ImageNet-1K, training curves of online vs spaced KD (s = 1.5).
    "fig5": Grid(RESNET, [
        ("imagenet1k", "resnet18", "same", "online"),
        ("imagenet1k", "resnet18", "same", "spaced1.5"),
    ]),
    # Fig. 6a: learning rate at batch size 128, online vs spaced KD (s = 1.5); ResNet-18 / CIFAR-100.
    "fig6_lr": Grid({k: v for k, v in RESNET.items() if k != "optim.lr"}, [
        ("cifar100", "resnet18", "same", "online", 0.001, 128),
        ("cifar100", "resnet18", "same", "spaced1.5", 0.001, 128),
        ("cifar100", "resnet18", "same", "online", 0.005, 128),
        ("cifar100", "resnet18", "same", "spaced1.5", 0.005, 128),
        ("cifar100", "resnet18", "same", "online", 0.01, 128),
        ("cifar100", "resnet18", "same", "spaced1.5", 0.01, 128),
        ("cifar100", "resnet18", "same", "online", 0.05, 128),
        ("cifar100", "resnet18", "same", "spaced1.5", 0.05, 128),
        ("cifar100", "resnet18", "same", "online", 0.1, 128),
        ("cifar100", "resnet18", "same", "spaced1.5", 0.1, 128),
    ], extra=("optim.lr", "trainer.batch_size")),
    # Fig. 6b: batch size at learning rate 0.01; batch 128 is Fig. 6a's point (fig6_lr), not rerun.
    "fig6_bs": Grid({k: v for k, v in RESNET.items() if k != "trainer.batch_size"}, [
        ("cifar100", "resnet18", "same", "online", 0.01, 32),
        ("cifar100", "resnet18", "same", "spaced1.5", 0.01, 32),
        ("cifar100", "resnet18", "same", "online", 0.01, 64),
        ("cifar100", "resnet18", "same", "spaced1.5", 0.01, 64),
        ("cifar100", "resnet18", "same", "online", 0.01, 256),
        ("cifar100", "resnet18", "same", "spaced1.5", 0.01, 256),
    ], extra=("optim.lr", "trainer.batch_size")),
    # Not the paper's: the CPU replication of docs/cpu_mini.md (Fashion-MNIST, resnet8, 4,000 images,
    # 10 epochs), w/o KD · online · spaced 0.5/1/1.5/2.
    "cpu_mini": Grid({"trainer.epochs": 10, "dataset.train_subset": 4000, "dataset.test_subset": 2000}, [
        ("fashion_mnist", "resnet8", "-", "none"),
        ("fashion_mnist", "resnet8", "same", "online"),
        ("fashion_mnist", "resnet8", "same", "spaced0.5"),
        ("fashion_mnist", "resnet8", "same", "spaced1"),
        ("fashion_mnist", "resnet8", "same", "spaced1.5"),
        ("fashion_mnist", "resnet8", "same", "spaced2"),
    ]),
}
