"""teacher.optim and experiment=paper_vit_teacher: a ViT teacher and a ResNet-18 student, each on
its own release recipe (Tab. 8/9's DeiT-Tiny / PiT-Tiny rows)."""
import pytest
import torch

from spaced_kd.build import build
from spaced_kd.config import load_config
from spaced_kd.errors import UserError
from spaced_kd.optim import lr_schedule

from data_fakes import write_cifar100
from test_recipe import composed


@pytest.fixture(scope="module")
def cifar(tmp_path_factory):
    root = tmp_path_factory.mktemp("cifar")
    write_cifar100(root)  # 40 train images: 5 steps an epoch at batch 8
    return root


def small(cifar, *more):
    # 32 px and the device-side crop keep it fast; the grid itself runs at 224 px with timm's pipeline
    return composed("experiment=paper_vit_teacher", f"dataset.root={cifar}", "dataset.image_size=32",
                    "dataset.augment=crop_flip", "trainer.epochs=30", "trainer.batch_size=8", "trainer.device=cpu",
                    "trainer.progress=false", *more)


def test_each_network_steps_with_its_own_optimiser_and_schedule(cifar):
    cfg = small(cifar)
    assert (cfg.model.name, cfg.teacher.name, cfg.recipe.name) == ("resnet18_imagenet", "deit_tiny", "official")
    setup = build(cfg)
    learner, spe = setup.learner, setup.steps_per_epoch
    student, teacher = learner.optimizers["student"], learner.optimizers["teacher"]
    assert isinstance(student, torch.optim.SGD) and student.defaults["nesterov"]
    assert isinstance(teacher, torch.optim.AdamW)
    assert {g["weight_decay"] for g in student.param_groups} == {5e-4, 0.0}  # none on 1-D parameters
    assert {g["weight_decay"] for g in teacher.param_groups} == {0.05, 0.0}
    student_lr = lr_schedule(cfg.optim, setup.plan.total_steps, spe)
    teacher_lr = lr_schedule(cfg.teacher.optim, setup.plan.total_steps, spe)
    for t in (0, 22 * spe):  # in the teacher's warm-up, then on both cosines
        x, y = setup.data.train_batch(t)
        learner.step("joint", t, x, y)
        assert student.param_groups[0]["lr"] == student_lr(t)
        assert teacher.param_groups[0]["lr"] == teacher_lr(t)
    assert student_lr(0) == 0.1 and teacher_lr(0) < 1e-5  # warm-up from 0.001·lr
    assert 4e-4 < teacher_lr(22 * spe) < 5e-4 and student_lr(22 * spe) < 0.02  # cosines of other lengths


def test_without_teacher_optim_the_teacher_shares_the_students_recipe(cifar):
    cfg = small(cifar, "~teacher.optim")
    assert cfg.teacher.optim is None
    learner = build(cfg).learner
    assert type(learner.optimizers["teacher"]) is type(learner.optimizers["student"]) is torch.optim.SGD
    assert learner.lr_of == {}


def test_a_method_refuses_teacher_optim_in_one_line():
    with pytest.raises(UserError, match="teacher.optim is for a peer teacher"):
        load_config({"method": {"name": "dml"}, "loss": {"feature": "none"}, "teacher": {"optim": {"lr": 0.1}}})
