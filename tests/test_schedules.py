"""Each schedule's event list against the paper's pseudo-code, transcribed line by line."""
import pytest

from spaced_kd.errors import UserError
from spaced_kd.schedules import Event, Plan, SCHEDULES, expand, steps_from_epochs

T_, S_, J_ = "teacher", "student", "joint"


def alg1_online(T):
    """Alg. 1: for each batch, update teacher then student (one joint step)."""
    out = []
    for t in range(T):
        out.append(Event(J_, t))
    return out


def alg2_spaced(T, s):
    """Alg. 2 as printed: R ← R ∪ {i}; update teacher; if |R| = s: replay R to the student; clear."""
    out, R = [], []
    for t in range(T):
        R.append(t)
        out.append(Event(T_, t))
        if len(R) == s:
            for j in R:
                out.append(Event(S_, j))
            R = []
    return out, R  # R: the block the printed algorithm leaves unreplayed


def tab10_ahead(T, s):
    """Tab. 10: teacher trains s steps first, then stays s steps ahead in lockstep."""
    out = [Event(T_, t) for t in range(min(s, T))]
    for t in range(T):
        out.append(Event(S_, t))
        if t + s < T:
            out.append(Event(T_, t + s))
    return out


def test_online_is_alg1():
    assert expand("online", Plan(10, 3)) == alg1_online(10)


def test_none_trains_the_student_alone():
    assert expand("none", Plan(4, 3)) == [Event(S_, t) for t in range(4)]


def test_spaced_matches_alg2_and_replays_the_cut_block():
    events = expand("spaced", Plan(10, 3))
    printed, leftover = alg2_spaced(10, 3)
    assert leftover == [9]
    # default: the block the end cuts short is still replayed
    assert events == printed + [Event(S_, 9)]
    assert [repr(e) for e in events[:7]] == ["T0", "T1", "T2", "S0", "S1", "S2", "T3"]


def test_spaced_release_drops_the_cut_block():
    events = expand("spaced", Plan(10, 3, drop_last_block=True))
    assert events == alg2_spaced(10, 3)[0]


def test_spaced_exact_multiple_has_nothing_to_drop():
    assert expand("spaced", Plan(9, 3, drop_last_block=True)) == expand("spaced", Plan(9, 3))


def test_every_role_sees_every_batch_once_in_order():
    for name in ["online", "spaced", "ahead", "offline"]:
        for s in [1, 2, 3, 7, 20]:
            ev = expand(name, Plan(10, s))
            t_steps = [e.step for e in ev if e.kind in (T_, J_)]
            s_steps = [e.step for e in ev if e.kind in (S_, J_)]
            assert t_steps == list(range(10)), (name, s)
            assert s_steps == list(range(10)), (name, s)


def test_student_never_ahead_of_teacher_in_spaced():
    ev = expand("spaced", Plan(23, 4))
    teacher_done = -1
    for e in ev:
        if e.kind == T_:
            teacher_done = e.step
        else:
            assert e.step <= teacher_done


def test_spaced_with_interval_one_alternates():
    assert [repr(e) for e in expand("spaced", Plan(3, 1))] == ["T0", "S0", "T1", "S1", "T2", "S2"]


def test_ahead_matches_tab10():
    assert expand("ahead", Plan(10, 3)) == tab10_ahead(10, 3)
    ev = expand("ahead", Plan(10, 3))
    # the student's step t always sees a teacher that finished t + s steps (or all of them)
    done = 0
    for e in ev:
        if e.kind == T_:
            done = e.step + 1
        else:
            assert done == min(10, e.step + 3), e


def test_offline_teacher_first_or_loaded():
    assert expand("offline", Plan(4)) == [Event(T_, t) for t in range(4)] + [Event(S_, t) for t in range(4)]
    assert expand("offline", Plan(4, teacher_pretrained=True)) == [Event(S_, t) for t in range(4)]


def test_critical_period_window_is_spaced_inside_online_outside():
    ev = expand("spaced", Plan(12, 3, window_start=4, window_end=9))
    assert [repr(e) for e in ev] == (
        ["J0", "J1", "J2", "J3"]
        + ["T4", "T5", "T6", "S4", "S5", "S6"]
        + ["T7", "T8", "S7", "S8"]  # cut by the window's end: replayed there
        + ["J9", "J10", "J11"]
    )


def test_critical_period_till_the_end():
    ev = expand("spaced", Plan(8, 3, window_start=5))
    assert [repr(e) for e in ev] == ["J0", "J1", "J2", "J3", "J4", "T5", "T6", "T7", "S5", "S6", "S7"]


def test_release_self_kd_offset_first_block_is_one_epoch():
    # spe = 2, s = 4 epochs = 8 steps, 10 epochs = 20 steps: replays end at steps 2, 10, 18;
    # the last 2 steps (the last epoch) are never replayed.
    ev = expand("spaced", Plan(20, 8, first_block=2, drop_last_block=True))
    replay_ends = [e.step + 1 for i, e in enumerate(ev) if e.kind == S_ and (i + 1 == len(ev) or ev[i + 1].kind == T_)]
    assert replay_ends == [2, 10, 18]
    assert max(e.step for e in ev if e.kind == S_) == 17


def test_steps_from_epochs_rounds_half_up_and_release_truncates():
    assert steps_from_epochs(1.5, 391) == 587
    assert steps_from_epochs(1.5, 391, floor=True) == 586
    assert steps_from_epochs(0.5, 3) == 2


def test_unknown_schedule_lists_choices():
    with pytest.raises(UserError, match="ahead, none, offline, online, spaced"):
        SCHEDULES.get("sometimes")
