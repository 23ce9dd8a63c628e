"""The one validation layer: value checks that raise a one-line UserError, and the typed load.

Every config (train.py's `Config`, evaluate.py's `EvalConfig`) is loaded by `load_typed`: the
composed DictConfig is merged onto its dataclass schema (OmegaConf checks the types) and then the
schema's own `check` runs. A message always names the key and says what is allowed.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Iterable, Optional, TypeVar

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from .errors import UserError

S = TypeVar("S")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def positive(name: str, value: Any) -> None:
    if not _is_number(value) or value <= 0:
        raise UserError(f"{name} must be a number > 0, got {value!r}")


def at_least(name: str, value: Any, low: float) -> None:
    if not _is_number(value) or value < low:
        raise UserError(f"{name} must be a number >= {low:g}, got {value!r}")


def in_range(name: str, value: Any, low: float, high: float, *, high_open: bool = False) -> None:
    """low <= value <= high (or < high when high_open)."""
    ok = _is_number(value) and low <= value and (value < high if high_open else value <= high)
    if not ok:
        raise UserError(f"{name} must be in [{low:g}, {high:g}{')' if high_open else ']'}, got {value!r}")


def integer(name: str, value: Any, low: int = 0) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise UserError(f"{name} must be an integer >= {low}, got {value!r}")


def whole(name: str, value: Any, low: int = 1) -> None:
    """A number that must be a whole count (given as 3 or 3.0), e.g. an interval in steps."""
    if not _is_number(value) or value != int(value) or value < low:
        raise UserError(f"{name} must be a whole number >= {low}, got {value!r}")


def choice(name: str, value: Any, allowed: Iterable[str]) -> None:
    allowed = list(allowed)
    if value not in allowed:
        raise UserError(f"{name}={value!r} is not allowed; choose one of: {', '.join(map(str, allowed))}")


def optional(check: Callable[..., None], name: str, value: Any, *args: Any, **kw: Any) -> None:
    if value is not None:
        check(name, value, *args, **kw)


def one_line(exc: Exception) -> str:
    """An OmegaConf error as one line: the key it concerns, then the first line of the message."""
    text = str(exc).strip().splitlines()
    head = text[0] if text else type(exc).__name__
    key = next((ln.split(":", 1)[1].strip() for ln in text if ln.strip().startswith("full_key:")), "")
    return f"{key}: {head}" if key else head


def load_typed(cfg: DictConfig | dict | None, schema: type[S], *, drop: Iterable[str] = (),
               check: Optional[Callable[[S], None]] = None) -> S:
    """Hydra's DictConfig (or a plain dict) → an instance of the dataclass `schema`, checked.

    `hydra` and the dotted keys in `drop` (retired keys that old run directories still hold) are
    removed first; a wrong type or unknown key raises UserError with one line.
    """
    raw = OmegaConf.create({}) if cfg is None else (cfg if isinstance(cfg, DictConfig) else OmegaConf.create(cfg))
    keep = [k for k in raw.keys() if k != "hydra"]
    raw = OmegaConf.masked_copy(raw, keep) if len(keep) != len(raw) else raw.copy()
    for dotted in drop:
        parent, _, leaf = dotted.rpartition(".")
        node = OmegaConf.select(raw, parent) if parent else raw
        if isinstance(node, DictConfig) and leaf in node:
            with _writable(node):
                node.pop(leaf)
    try:
        merged = OmegaConf.merge(OmegaConf.structured(schema), raw)
        conf: S = OmegaConf.to_object(merged)  # type: ignore[assignment]
    except OmegaConfBaseException as exc:
        raise UserError(f"bad config value {one_line(exc)}") from None
    if check is not None:
        check(conf)
    elif hasattr(conf, "check"):
        conf.check()
    return conf


class _writable:
    def __init__(self, node: DictConfig):
        self.node = node

    def __enter__(self) -> None:
        self.struct = OmegaConf.is_struct(self.node)
        OmegaConf.set_struct(self.node, False)

    def __exit__(self, *exc: Any) -> None:
        OmegaConf.set_struct(self.node, self.struct)


def register_schema(name: str, schema: type) -> None:
    """Every key of `schema` with its default, stored in Hydra's ConfigStore as `name`.

    Stored as a plain node, not typed: Hydra would report a type error as a multi-line traceback,
    while `load_typed` reports it in one line. The dataclass stays the one place a default lives.
    """
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(name=name, node=OmegaConf.to_container(OmegaConf.structured(schema)))
