"""recipe.distill_token: under the release's recipe a DeiT-Tiny student that learns from a teacher is the
distillation-token DeiT, evaluated on the mean of its two heads; its teacher and the w/o KD network
are the plain DeiT, and PiT has no such token (the release's DISTILLATION.ENABLE_LOGIT)."""
import torch

from spaced_kd import recipe
from spaced_kd.build import build
from spaced_kd.config import load_config
from spaced_kd.models.deit_distilled import DistilledClassifier

BASE = {"dataset": {"name": "digits", "train_subset": 64, "test_subset": 40}, "model": {"name": "deit_tiny"},
        "trainer": {"epochs": 2, "batch_size": 32, "device": "cpu"}, "loss": {"beta": 0.0},
        "interval": 0.5}


def cfg(**parts):
    tree = {**BASE, "recipe": {"distill_token": True}}
    for key, value in parts.items():
        tree[key] = {**tree.get(key, {}), **value}
    return load_config(tree)


def test_only_a_taught_deit_student_gets_the_token():
    assert recipe.student_model(cfg(kd={"name": "online"})) == "deit_tiny_distilled"
    assert recipe.student_model(cfg(kd={"name": "spaced"})) == "deit_tiny_distilled"
    assert recipe.student_model(cfg(kd={"name": "offline"})) == "deit_tiny_distilled"
    assert recipe.student_model(cfg(kd={"name": "none"})) == "deit_tiny"  # the release's base config
    assert recipe.student_model(cfg(kd={"name": "online"}, model={"name": "pit_tiny"})) == "pit_tiny"
    assert recipe.student_model(cfg(kd={"name": "online"}, model={"name": "resnet18"})) == "resnet18"
    assert recipe.student_model(cfg(kd={"name": "online"}, recipe={"distill_token": False})) == "deit_tiny"


def test_the_student_learns_on_a_distillation_head_and_the_teacher_stays_plain():
    taught = build(cfg(kd={"name": "online"})).learner
    assert isinstance(taught.student, DistilledClassifier)
    assert not isinstance(taught.teacher, DistilledClassifier)
    assert taught.teacher.net.num_prefix_tokens == 1  # class token only
    alone = build(cfg(kd={"name": "none"})).learner
    assert not isinstance(alone.student, DistilledClassifier) and alone.teacher is None
    off = build(cfg(kd={"name": "online"}, recipe={"distill_token": False})).learner
    assert not isinstance(off.student, DistilledClassifier)


def test_the_student_is_scored_on_the_mean_of_both_heads():
    setup = build(cfg(kd={"name": "online"}))
    learner, data = setup.learner, setup.data
    student = learner.student
    with torch.no_grad():  # give the two heads different opinions
        student.net.head_dist.weight.normal_(0, 1.0, generator=torch.Generator().manual_seed(1))
    batches = list(data.eval_batches("test", 16))
    acc, loss = learner.evaluate("student", batches)["student"]
    student.eval()
    correct, total, ce = 0, 0, 0.0
    with torch.no_grad():
        for x, y in batches:
            tokens = student.net.forward_features(x)
            mean = (student.net.head(tokens[:, 0]) + student.net.head_dist(tokens[:, 1])) / 2
            correct += int((mean.argmax(1) == y).sum())
            ce += float(torch.nn.functional.cross_entropy(mean, y, reduction="sum"))
            total += len(y)
    # the loss tells the mean apart from either head alone, even where their argmaxes agree
    assert abs(acc - 100.0 * correct / total) < 1e-6 and abs(loss - ce / total) < 1e-5
