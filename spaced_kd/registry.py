"""Name → builder maps filled by decorators, so adding a component is one function."""
from __future__ import annotations

from typing import Any, Callable, Dict, Generic, TypeVar

from .errors import UserError

T = TypeVar("T", bound=Callable[..., Any])


class Registry(Generic[T]):
    def __init__(self, kind: str):
        self.kind = kind
        self._items: Dict[str, T] = {}

    def register(self, *names: str) -> Callable[[T], T]:
        def deco(fn: T) -> T:
            for name in names or (fn.__name__,):
                if name in self._items:
                    raise ValueError(f"{self.kind} {name!r} registered twice")
                self._items[name] = fn
            return fn

        return deco

    def get(self, name: str) -> T:
        if name not in self._items:
            raise UserError(f"unknown {self.kind} {name!r}; choose one of: {', '.join(self.names())}")
        return self._items[name]

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: str) -> bool:
        return name in self._items
