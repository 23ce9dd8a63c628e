"""When each network learns, for methods with more networks than a teacher and a student.

A method's networks form a chain n0 → n1 → … → n_{L−1}: n_{k+1} learns from n_k (and, in mutual
methods, n_k from n_{k+1} too). Each link (n_k, n_{k+1}) keeps a two-role schedule from
`spaced_kd.schedules`: its teacher events are n_k's steps, its student events n_{k+1}'s. The
chain's order is the one that keeps every link's order: link k is merged into the chain so far
at the steps of n_k, the network the two share. Steps a link runs jointly become one event whose
networks learn together (each one's pre-update output teaches the next).

    offline, 3 networks:   n0 0…T−1 · n1 0…T−1 · n2 0…T−1       (BAN and TAKD as published)
    spaced, s = 2:         n0 0 1 · n1 0 1 · n2 0 1 · n0 2 3 · …  (each network s steps behind the one it learns from)
    online:                n0+n1+n2 at every step

Pure Python, no torch: like the schedules, a chain is data that tests read.
"""
from __future__ import annotations

from typing import List, Sequence, Tuple

from .schedules import JOINT, SCHEDULES, STUDENT, TEACHER, Event, Plan

GROUP = "group"  # the kind of a chain event: `roles` says which networks learn

Item = Tuple[frozenset, int]  # (network indices learning together, step)

_NETS_OF = {TEACHER: (0,), STUDENT: (1,), JOINT: (0, 1)}


def link(schedule: str, plan: Plan, k: int) -> List[Item]:
    """Link k's schedule over networks k (its teacher) and k + 1 (its student)."""
    return [(frozenset(k + i for i in _NETS_OF[ev.kind]), ev.step) for ev in SCHEDULES.get(schedule)(plan)]


def merge(chain: List[Item], nxt: List[Item], shared: int) -> List[Item]:
    """Merge link `nxt` into `chain`; both hold network `shared`'s steps, in the same order."""
    out: List[Item] = []
    i = 0
    for nets, t in nxt:
        if shared not in nets:
            out.append((nets, t))
            continue
        while i < len(chain) and not (shared in chain[i][0] and chain[i][1] == t):
            out.append(chain[i])
            i += 1
        if i == len(chain):
            raise ValueError(f"network {shared} learns step {t} in one link but not in the other")
        out.append((chain[i][0] | nets, t))
        i += 1
    out.extend(chain[i:])
    return out


def chain_events(schedules: Sequence[str], plans: Sequence[Plan], roles: Sequence[str]) -> List[Event]:
    """`schedules[k]` and `plans[k]` drive link k (networks k → k+1); `roles` name the networks."""
    if not (len(schedules) == len(plans) == len(roles) - 1 >= 1):
        raise ValueError(f"{len(roles)} networks need {len(roles) - 1} links, got {len(schedules)} schedules")
    items = link(schedules[0], plans[0], 0)
    for k in range(1, len(schedules)):
        items = merge(items, link(schedules[k], plans[k], k), shared=k)
    return [Event(GROUP, t, tuple(roles[k] for k in sorted(nets))) for nets, t in items]

