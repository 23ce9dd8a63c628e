"""Config → the objects a run needs: device, data, learner, the schedule's events."""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable, Iterator, Optional

import torch
from torch import nn

from .config import Config, interval_too_long
from .data import Data, build_data
from .errors import UserError
from .learners import Learner, PeerLearner, SelfLearner, autocast_factory
from .losses import KDLoss
from .methods.build import build_method
from .models.ghost_bn import ghost_batchnorm
from .nets import TEACHER_SEED_OFFSET, load_teacher_weights, make_net, prepare, resolve_device
from .optim import build_optimizer, lr_schedule
from .schedules import SCHEDULES, Event, Plan, steps_from_epochs
from . import recipe


@dataclass
class Setup:
    cfg: Config
    device: torch.device
    data: Data
    learner: Learner
    events: Callable[[], Iterator[Event]]  # each call: a fresh lazy pass over the schedule
    n_events: int
    plan: Plan
    steps_per_epoch: int


def projector(d_student: int, d_teacher: int) -> nn.Module:
    """Student features → the teacher's size: Linear → ReLU → Linear through the mean width."""
    mid = (d_student + d_teacher) // 2
    return nn.Sequential(nn.Linear(d_student, mid), nn.ReLU(inplace=True), nn.Linear(mid, d_teacher))


def build_plan(cfg: Config, steps_per_epoch: int) -> Plan:
    total = max(1, steps_from_epochs(cfg.trainer.epochs, steps_per_epoch))
    if cfg.interval_unit == "steps":
        s = int(round(cfg.interval))
    else:
        s = steps_from_epochs(cfg.interval, steps_per_epoch, floor=cfg.recipe.floor_interval)
    if cfg.kd.name in ("spaced", "ahead") and s >= total:
        raise UserError(interval_too_long(f"{s} steps", f"{total} steps"))
    end = cfg.spaced.end()
    window_end = None if end is None else steps_from_epochs(end, steps_per_epoch)
    return Plan(
        total_steps=total,
        interval=max(1, s),
        window_start=steps_from_epochs(cfg.spaced.start_epoch, steps_per_epoch),
        window_end=window_end,
        drop_last_block=cfg.recipe.drop_last_block,
        first_block=recipe.self_kd_first_block(cfg, steps_per_epoch, max(1, s)),
        replay_owns_last=recipe.self_replay_skips_ce(cfg),
        teacher_pretrained=cfg.teacher.checkpoint is not None,
    )


def build(cfg: Config, device: Optional[torch.device] = None, data: Optional[Data] = None) -> Setup:
    """`data`: an already built data set of this config's data settings (a cohort's runs share one)."""
    SCHEDULES.get(cfg.kd.name)
    device = device or resolve_device(cfg.trainer.device)
    if cfg.trainer.threads is not None:
        # Small CPU models run faster on one thread per job, several jobs side by side.
        torch.set_num_threads(cfg.trainer.threads)
    if data is None:
        data = build_data(recipe.data_config(cfg), batch_size=cfg.trainer.batch_size, seed=cfg.seed, device=device)
    spe = data.steps_per_epoch
    plan = build_plan(cfg, spe)
    lr_at = lr_schedule(cfg.optim, plan.total_steps, spe)
    method = build_method(cfg, data, device, lr_at, plan) if cfg.method.name != "none" else None
    if method is not None:
        learner, listed = method
        return Setup(cfg, device, data, learner, lambda: iter(listed), len(listed), plan, spe)
    if cfg.teacher.checkpoint is not None and cfg.kd.name != "offline":
        raise UserError("teacher.checkpoint is only used by kd=offline")
    if recipe.bn_split(cfg) > 1 and cfg.trainer.sync_bn:
        raise UserError(f"recipe.bn_split={cfg.recipe.bn_split} splits each batch's BatchNorm statistics and "
                        f"trainer.sync_bn=true joins them across processes; choose one (recipe.bn_split=1 "
                        f"or trainer.sync_bn=false)")
    # A self-KD baseline (kd=none) is the plain network: the peer learner without a teacher.
    if cfg.kd_mode.name == "self" and cfg.kd.name != "none":
        learner = build_self(cfg, data, device, lr_at)
    else:
        t_optim = cfg.teacher.optim
        teacher_lr_at = lr_schedule(t_optim, plan.total_steps, spe) if t_optim is not None else None
        learner = build_peer(cfg, data, device, lr_at, teacher_lr_at)
    events = partial(SCHEDULES.get(cfg.kd.name), plan)
    return Setup(cfg, device, data, learner, events, sum(1 for _ in events()), plan, spe)


def teacher_width(cfg: Config) -> float:
    """The teacher's channel multiplier: teacher.width (else the student's) read by teacher.width_rule."""
    width = cfg.teacher.width if cfg.teacher.width is not None else cfg.model.width
    return width ** 0.5 if cfg.teacher.width_rule == "params" else width


def build_peer(cfg: Config, data: Data, device: torch.device, lr_at, teacher_lr_at=None) -> PeerLearner:
    """`teacher_lr_at`: the teacher's own schedule (teacher.optim), else the student's `lr_at`."""
    m = cfg.model
    init = recipe.pytorch_init(cfg)
    split = recipe.bn_split(cfg)
    name = recipe.student_model(cfg)  # model.name, or the release's distillation-token DeiT
    student = make_net(name, m.width, m.drop_path, data, cfg.seed, False, init)
    student = prepare(ghost_batchnorm(student, split), cfg, device)
    teacher = proj = None
    opts = {}
    if cfg.kd.name != "none":
        t = cfg.teacher
        seed = cfg.seed if t.init == "same" else cfg.seed + TEACHER_SEED_OFFSET
        teacher = make_net(t.name or m.name, teacher_width(cfg), t.drop_path if t.drop_path is not None else m.drop_path,
                       data, seed, False, init)
        if t.checkpoint is not None:
            load_teacher_weights(t.checkpoint, teacher)
        teacher = prepare(ghost_batchnorm(teacher, split), cfg, device)
        torch.manual_seed(cfg.seed + 1)
        proj = projector(student.feature_dim, teacher.feature_dim).to(device)
        opts["teacher"] = build_optimizer([teacher], cfg.teacher.optim or cfg.optim)
    opts["student"] = build_optimizer([student] + ([proj] if proj is not None else []), cfg.optim)
    target_mode, replay_moves_bn = recipe.teacher_targets(cfg)
    return PeerLearner(student, teacher, proj, opts, KDLoss.from_config(cfg.loss, recipe.peer_logit_loss(cfg)),
                       target_mode=target_mode, replay_moves_bn=replay_moves_bn, lr_at=lr_at,
                       lr_of={"teacher": teacher_lr_at} if teacher_lr_at is not None else None,
                       autocast=autocast_factory(device, cfg.trainer.precision), device=device, seed=cfg.seed)


def build_self(cfg: Config, data: Data, device: torch.device, lr_at) -> SelfLearner:
    m = cfg.model
    net = make_net(m.name, m.width, m.drop_path, data, cfg.seed, True)
    net = prepare(ghost_batchnorm(net, recipe.bn_split(cfg)), cfg, device)
    loss = KDLoss.from_config(cfg.loss, recipe.self_logit_loss(cfg))
    return SelfLearner(net, build_optimizer([net], cfg.optim), loss, feature_heads=cfg.loss.feature_heads,
                       lr_at=lr_at, autocast=autocast_factory(device, cfg.trainer.precision), device=device,
                       seed=cfg.seed)
