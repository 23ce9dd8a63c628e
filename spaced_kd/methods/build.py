"""Config → a method's learner and its events (spaced_kd.build calls this for method != none)."""
from __future__ import annotations

from dataclasses import replace
from typing import Callable, List, Optional, Tuple

import torch

from .. import chains
from ..config import Config
from ..data import Data
from ..errors import UserError
from ..learners import autocast_factory
from ..losses import KDLoss
from ..nets import load_teacher_weights, make_net, prepare
from ..optim import build_optimizer
from ..schedules import Event, Plan, expand
from .base import MethodLearner
from .registry import METHODS, net


def build_method(cfg: Config, data: Data, device: torch.device, lr_at: Callable[[int], float],
                 plan: Plan) -> Optional[Tuple[MethodLearner, List[Event]]]:
    """None where the run is a plain network (a method's kd=none w/o KD column)."""
    spec = METHODS.get(cfg.method.name)
    if cfg.kd.name == "none":
        if spec.baseline == "plain":
            return None
        nets = [net(cfg, "student")]
        events = expand("none", plan)
    else:
        nets = spec.networks(cfg)
        schedules = spec.links(cfg, len(nets) - 1) if spec.links else [cfg.kd.name] * (len(nets) - 1)
        plans = [plan] * len(schedules)
        if cfg.teacher.checkpoint is not None:
            if schedules[0] != "offline":
                raise UserError(f"teacher.checkpoint loads method={cfg.method.name}'s first network, which only "
                                f"kd=offline waits for; use kd=offline or drop teacher.checkpoint")
            plans[0] = replace(plan, teacher_pretrained=True)
        if spec.shares_teacher(cfg):  # the plain teacher/student/joint events (a cohort walks them)
            events = expand(schedules[0], plans[0])
        else:
            events = chains.chain_events(schedules, plans, [n.role for n in nets])
    modules = []
    for k, n in enumerate(nets):
        if not n.model:  # a part the learner builds itself (SHAKE's shadow head)
            modules.append((n.role, None))
            continue
        module = make_net(n.model, n.width, n.drop_path, data, n.seed, False)
        if k == 0 and cfg.teacher.checkpoint is not None and cfg.kd.name != "none":
            load_teacher_weights(cfg.teacher.checkpoint, module)
        modules.append((n.role, prepare(module, cfg, device)))
    learner = spec.learner(
        modules, KDLoss.from_config(cfg.loss), cfg=cfg, data=data, plan=plan, target_mode=cfg.teacher.target_mode,
        lr_at=lr_at, autocast=autocast_factory(device, cfg.trainer.precision), device=device, seed=cfg.seed)
    learner.optimizers = {role: build_optimizer(learner.trainable(role), cfg.optim) for role in learner.roles}
    return learner, events
