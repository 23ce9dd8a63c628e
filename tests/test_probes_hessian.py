"""Hessian probe against closed forms: linear regression with MSE has H = 2/n · XᵀX."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from spaced_kd.probes.hessian import HessianOperator, hutchinson_trace, top_eigenvalue


def regression(n=64, d=6, bias=False, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=gen, dtype=torch.float64) * torch.linspace(0.5, 2.0, d, dtype=torch.float64)
    y = torch.randn(n, 1, generator=gen, dtype=torch.float64)
    model = nn.Linear(d, 1, bias=bias).double()
    design = torch.cat([x, torch.ones(n, 1, dtype=torch.float64)], 1) if bias else x
    return model, x, y, 2.0 / n * design.T @ design


@pytest.mark.parametrize("bias, n_batches", [(False, 1), (True, 4)])
def test_trace_matches_closed_form_within_its_interval(bias, n_batches):
    model, x, y, h = regression(bias=bias)
    batches = list(zip(x.chunk(n_batches), y.chunk(n_batches)))  # equal sizes: mean of H_b = H
    out = hutchinson_trace(model, F.mse_loss, batches, probes=300, seed=1)
    true = float(torch.trace(h))
    lo, hi = out["trace_ci"]
    assert lo < true < hi
    assert out["trace"] == pytest.approx(true, rel=0.08)
    assert out["probes"] == 300 and out["batches"] == n_batches


def test_trace_is_exact_for_a_diagonal_hessian():
    a = torch.tensor([1.0, 2.0, 3.0, 0.5], dtype=torch.float64)
    x = torch.cat([torch.diag(a), torch.zeros(4, 4, dtype=torch.float64)])  # XᵀX = diag(a²)
    y = torch.zeros(8, 1, dtype=torch.float64)
    model = nn.Linear(4, 1, bias=False).double()
    out = hutchinson_trace(model, F.mse_loss, [(x, y)], probes=5, seed=0)
    assert out["trace"] == pytest.approx(2 / 8 * float((a * a).sum()), rel=1e-12)
    assert out["trace_ci"][1] - out["trace_ci"][0] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("n_batches", [1, 2])
def test_top_eigenvalue_matches_eigvalsh(n_batches):
    model, x, y, h = regression(bias=True, seed=3)
    batches = list(zip(x.chunk(n_batches), y.chunk(n_batches)))
    out = top_eigenvalue(model, F.mse_loss, batches, iters=500, tol=1e-10, seed=0)
    assert out["top_eigenvalue"] == pytest.approx(float(torch.linalg.eigvalsh(h).max()), rel=1e-4)


def test_operator_is_the_hessian_and_estimates_are_seeded():
    model, x, y, h = regression(d=3)
    op = HessianOperator(model, F.mse_loss, [(x, y)])
    for j in range(3):
        e = torch.zeros(1, 3, dtype=torch.float64)
        e[0, j] = 1
        (col,) = op([e])
        assert torch.allclose(col.flatten(), h[:, j], atol=1e-12)
    a = hutchinson_trace(model, F.mse_loss, [(x, y)], probes=7, seed=5)
    b = hutchinson_trace(model, F.mse_loss, [(x, y)], probes=7, seed=5)
    c = hutchinson_trace(model, F.mse_loss, [(x, y)], probes=7, seed=6)
    assert a["trace"] == b["trace"] and a["trace"] != c["trace"]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_gpu_matches_cpu():
    model, x, y, _ = regression(bias=True)
    cpu = hutchinson_trace(model, F.mse_loss, [(x, y)], probes=10, seed=0)
    gpu = hutchinson_trace(model.cuda(), F.mse_loss, [(x.cuda(), y.cuda())], probes=10, seed=0)
    assert gpu["trace"] == pytest.approx(cpu["trace"], rel=1e-9)
