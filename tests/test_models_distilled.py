"""The distillation-token DeiT option: CE on the class head, the KD term on the distillation head."""
import torch

from helpers import FAST, summary, train
from spaced_kd.config import LossConfig
from spaced_kd.losses import KDLoss
from spaced_kd.models import build_model


def test_two_heads_in_training_their_mean_in_evaluation():
    torch.manual_seed(0)
    net = build_model("deit_tiny_distilled", num_classes=5, in_channels=1, image_size=8)
    x = torch.randn(3, 1, 8, 8)
    logits, feature, kd_logits = net.train()(x)
    assert logits.shape == kd_logits.shape == (3, 5) and feature.shape == (3, net.feature_dim)
    assert not torch.allclose(logits, kd_logits)  # two heads, two tokens
    eval_logits, _ = net.eval()(x)
    tokens = net.net.forward_features(x)
    assert torch.allclose(eval_logits, (net.net.head(tokens[:, 0]) + net.net.head_dist(tokens[:, 1])) / 2, atol=1e-6)


def test_the_kd_term_reaches_only_the_distillation_head():
    torch.manual_seed(0)
    net = build_model("deit_tiny_distilled", num_classes=5, in_channels=1, image_size=8).train()
    logits, _, kd_logits = net(torch.randn(4, 1, 8, 8))
    teacher = torch.randn(4, 5)
    parts = KDLoss.from_config(LossConfig(beta=0.0))(logits, teacher, torch.tensor([0, 1, 2, 3]), kd_logits=kd_logits)
    parts["kd"].backward(retain_graph=True)
    assert net.net.head_dist.weight.grad.abs().sum() > 0 and net.net.head.weight.grad is None
    net.zero_grad(set_to_none=True)
    parts["ce"].backward()
    assert net.net.head.weight.grad.abs().sum() > 0 and net.net.head_dist.weight.grad is None


def test_a_distilled_deit_trains_online_and_spaced(tmp_path):
    for kd in ("online", "spaced"):
        d = tmp_path / kd
        r = train(*FAST, "model=deit_tiny_distilled", f"kd={kd}", "interval=0.5", "trainer.epochs=1",
                  "dataset.train_subset=64", "trainer.batch_size=32", f"hydra.run.dir={d}")
        assert r.returncode == 0, r.stderr[-2000:]
        assert summary(d)["status"] == "completed"
