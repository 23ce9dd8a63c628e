"""A battery of bad inputs, each refused by the layer that owns it with one line naming the key.

In-process, so a hundred cases take seconds: the command line is composed by Hydra exactly as
train.py composes it, then loaded (`load_config`) and built (`build`: data, models, schedule).
Every case must end in a `UserError` whose message is one line and names what was wrong — the
entry point prints that line and exits 2 (tests/test_bad_input.py runs the same path end to end).
A bad group option or an unknown key is Hydra's own compose error, which lists the choices.
"""
import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException, HydraException

from helpers import ROOT
from spaced_kd.build import build
from spaced_kd.conf_store import register
from spaced_kd.config import load_config
from spaced_kd.errors import UserError

TINY = ["dataset.train_subset=128", "dataset.test_subset=64", "trainer.batch_size=32", "trainer.epochs=2",
        "trainer.device=cpu", "trainer.progress=false"]

# (override(s), text the one-line message must contain)
CASES = [
    # trainer
    ("trainer.epochs=0", "trainer.epochs must be a number > 0"),
    ("trainer.epochs=-1", "trainer.epochs must be a number > 0"),
    ("trainer.epochs=nan", "trainer.epochs must be a number > 0"),
    ("trainer.epochs=inf", "trainer.epochs must be a number > 0"),
    ("trainer.epochs=abc", "trainer.epochs"),
    ("trainer.epochs=", "trainer.epochs"),
    ("trainer.batch_size=0", "trainer.batch_size must be an integer >= 1"),
    ("trainer.batch_size=-4", "trainer.batch_size must be an integer >= 1"),
    ("trainer.batch_size=1.5", "trainer.batch_size"),
    ("trainer.batch_size=big", "trainer.batch_size"),
    ("trainer.batch_size=100000", "larger than the training set"),
    ("trainer.eval_batch_size=0", "trainer.eval_batch_size must be an integer >= 1"),
    ("trainer.checkpoint_every=0", "trainer.checkpoint_every must be an integer >= 1"),
    ("trainer.eval_every=0", "trainer.eval_every must be an integer >= 1"),
    ("trainer.eval_every=-1", "trainer.eval_every must be an integer >= 1"),
    ("trainer.threads=0", "trainer.threads must be an integer >= 1"),
    ("trainer.threads=-2", "trainer.threads must be an integer >= 1"),
    ("trainer.device=gpu", "trainer.device='gpu' is not allowed; choose one of: auto, cpu, cuda"),
    ("trainer.precision=fp16", "trainer.precision='fp16' is not allowed; choose one of: fp32, bf16"),
    ("trainer.precision=fp8", "trainer.precision='fp8' is not allowed"),
    ("trainer.resume=maybe", "trainer.resume"),
    # optimiser
    ("optim.lr=0", "optim.lr must be a number > 0"),
    ("optim.lr=-0.1", "optim.lr must be a number > 0"),
    ("optim.lr=nan", "optim.lr must be a number > 0"),
    ("optim.lr=fast", "optim.lr"),
    ("optim.momentum=-1", "optim.momentum must be in [0, 1)"),
    ("optim.momentum=1", "optim.momentum must be in [0, 1)"),
    ("optim.momentum=1.5", "optim.momentum must be in [0, 1)"),
    ("optim.weight_decay=-1", "optim.weight_decay must be a number >= 0"),
    ("optim.weight_decay=nan", "optim.weight_decay must be a number >= 0"),
    ("optim=adamw optim.warmup_epochs=-5", "optim.warmup_epochs must be a number >= 0"),
    ("optim.min_lr=-1", "optim.min_lr must be a number >= 0"),
    ("optim.gamma=0", "optim.gamma must be a number > 0"),
    ("optim.scheduler=linear", "optim.scheduler='linear' is not allowed; choose one of: constant, cosine, step"),
    ("optim.name=rmsprop", "unknown optimizer 'rmsprop'; choose one of: adamw, sgd"),
    ("optim.betas=[0.9]", "optim.betas must be two numbers in [0, 1)"),
    ("optim.betas=[1.5,0.9]", "optim.betas must be two numbers in [0, 1)"),
    ("optim.milestones=[-1]", "optim.milestones must be a number >= 0"),
    # models and teachers
    ("model.name=nope", "unknown model 'nope'; choose one of:"),
    ("model.width=0", "model.width must be a number > 0"),
    ("model.width=-1", "model.width must be a number > 0"),
    ("model.drop_path=1", "model.drop_path must be in [0, 1)"),
    ("model.drop_path=-0.1", "model.drop_path must be in [0, 1)"),
    ("teacher.name=nope", "unknown model 'nope'"),
    ("teacher.width=0", "teacher.width must be a number > 0"),
    ("teacher.drop_path=2", "teacher.drop_path must be in [0, 1)"),
    ("teacher.init=random", "teacher.init='random' is not allowed; choose one of: same, different"),
    ("kd=offline teacher.checkpoint=/no/such/run", "teacher.checkpoint=/no/such/run: no checkpoint"),
    ("kd=spaced teacher.checkpoint=/no/such/run", "teacher.checkpoint is only used by kd=offline"),
    # data
    ("dataset.name=nope", "unknown dataset 'nope'; choose one of:"),
    ("dataset.val_fraction=1", "dataset.val_fraction must be in [0, 1)"),
    ("dataset.val_fraction=-0.1", "dataset.val_fraction must be in [0, 1)"),
    ("dataset.val_fraction=0.999", "larger than the training set"),
    ("dataset.train_subset=0", "dataset.train_subset must be an integer >= 1"),
    ("dataset.train_subset=-5", "dataset.train_subset must be an integer >= 1"),
    ("dataset.test_subset=0", "dataset.test_subset must be an integer >= 1"),
    ("dataset.image_size=0", "dataset.image_size must be an integer >= 1"),
    ("dataset.crop_padding=-1", "dataset.crop_padding must be an integer >= 0"),
    ("dataset.rotation=-5", "dataset.rotation must be in [0, 180]"),
    ("dataset.rotation=200", "dataset.rotation must be in [0, 180]"),
    ("dataset.fill=300", "dataset.fill must be in [0, 255]"),
    ("dataset.fill=-1", "dataset.fill must be in [0, 255]"),
    ("dataset.num_workers=-1", "dataset.num_workers must be an integer >= 0"),
    ("dataset.std=[0.0]", "dataset.std values must be > 0"),
    ("dataset.mean=[0.5,0.5]", "dataset.mean and dataset.std need 1 values"),
    ("dataset=cifar100 dataset.root=/no/such/dir", "no CIFAR-100 files under /no/such/dir"),
    ("dataset=tiny_imagenet dataset.root=/no/such/dir", "/no/such/dir"),
    ("dataset=imagenet100 dataset.root=/no/such/dir", "/no/such/dir"),
    # schedule and interval
    ("kd.name=sometimes", "unknown kd schedule 'sometimes'"),
    ("kd_mode.name=both", "kd_mode.name='both' is not allowed; choose one of: peer, self"),
    ("interval=0", "interval must be a number > 0"),
    ("interval=-1", "interval must be a number > 0"),
    ("interval=abc", "interval"),
    ("interval=nan", "interval must be a number > 0"),
    ("interval=1e9", "is not shorter than training"),
    ("interval=2", "is not shorter than training"),
    ("kd=ahead interval=5", "is not shorter than training"),
    ("kd=offline interval=-1", "interval must be a number >= 0"),
    ("interval_unit=hours", "interval_unit='hours' is not allowed; choose one of: epochs, steps"),
    ("interval_unit=steps interval=0.3", "interval must be a whole number >= 1"),
    ("interval_unit=steps interval=2.5", "interval must be a whole number >= 1"),
    ("interval_unit=steps interval=1000", "is not shorter than training"),
    ("spaced.start_epoch=-1", "spaced.start_epoch must be a number >= 0"),
    ("spaced.start_epoch=10", "is not before the end of training"),
    ("spaced.start_epoch=2", "is not before the end of training"),
    ("spaced.end_epoch=0", "spaced.end_epoch (0.0) must be after spaced.start_epoch (0.0)"),
    ("spaced.start_epoch=1 spaced.end_epoch=0.5", "must be after spaced.start_epoch"),
    ("spaced.length=0", "spaced.length must be a number > 0"),
    ("spaced.length=-1", "spaced.length must be a number > 0"),
    ("spaced.length=1 spaced.end_epoch=1", "set spaced.length or spaced.end_epoch, not both"),
    # losses
    ("loss.logit=nope", "unknown logit loss 'nope'; choose one of:"),
    ("loss.feature=nope", "unknown feature loss 'nope'; choose one of:"),
    ("loss.temperature=0", "loss.temperature must be a number > 0"),
    ("loss.temperature=-1", "loss.temperature must be a number > 0"),
    ("loss.alpha=1.5", "loss.alpha must be in [0, 1]"),
    ("loss.alpha=-0.1", "loss.alpha must be in [0, 1]"),
    ("loss.beta=-1", "loss.beta must be a number >= 0"),
    ("loss.feature_heads=0", "loss.feature_heads must be an integer >= 1"),
    # logging, seeds, probes
    ("logger.name=tensorboard", "logger.name='tensorboard' is not allowed; choose one of: jsonl, wandb"),
    ("logger=wandb logger.mode=sometimes", "logger.mode='sometimes' is not allowed"),
    ("seed=abc", "seed"),
    ("seed=1.5", "seed"),
]

# group options and keys Hydra itself refuses while composing (its message lists the choices)
COMPOSE_ERRORS = ["model=resnet_nope", "dataset=nope", "kd=sometimes", "kd_mode=both", "optim=rmsprop",
                  "loss=nope", "recipe=nope", "teacher=nope", "+sweep=nope", "experiment=nope",
                  "recipe.nope=1", "trainer.nope=1", "nope=1", "model.name=[a,b"]


def compose_job(overrides: list[str]):
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base=None):
        return compose(config_name="config", overrides=overrides)


@pytest.fixture(scope="module", autouse=True)
def _registered():
    register()


def test_the_battery_is_bigger_than_the_audits():
    assert len(CASES) + len(COMPOSE_ERRORS) > 81


@pytest.mark.parametrize("overrides, says", CASES, ids=[c[0] for c in CASES])
def test_refused_in_one_line(overrides, says):
    raw = compose_job([*TINY, *overrides.split()])
    with pytest.raises(UserError) as err:
        build(load_config(raw))
    message = str(err.value)
    assert "\n" not in message and says in message, message


@pytest.mark.parametrize("override", COMPOSE_ERRORS)
def test_hydra_refuses_while_composing(override):
    with pytest.raises((ConfigCompositionException, HydraException)):
        compose_job([*TINY, override])
