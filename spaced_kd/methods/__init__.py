"""The published KD methods of Tab. 4 that spacing plugs into, by name (`method=`).

Each file registers a `MethodSpec` in `METHODS`: which networks it trains, whom each learns from
and by what loss. When they learn is the `kd` schedule's business (spaced_kd.chains), as for
every other run.
"""
from .registry import METHODS, MethodSpec, NetSpec
from . import chain, dml, self_trained, shake  # noqa: F401  (each registers its methods)

__all__ = ["METHODS", "MethodSpec", "NetSpec"]
