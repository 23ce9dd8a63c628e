"""Cohorts: the runs of a sweep that differ only in student-side settings train beside one teacher.

Under the default recipe the teacher learns from the task loss alone on the (seed, step) stream
and its forward randomness is seeded per (seed, role, step), so its trajectory does not depend on
which student watches it. A cohort trains it once; each member's student advances on its own
schedule beside it and writes its own run directory, bit-identical to the run alone.

- grouping.py: which jobs can share a teacher, and why a job cannot (pure, no torch on its own path)
- walk.py:     the order of a cohort's turns (pure Python, from the members' event lists)
- teacher.py:  the shared teacher
- member.py:   one member's run directory, lock, engine and summary
- runner.py:   `run_cohort`: open the members, walk, preempt
- task.py:     the Hydra job that runs a cohort (or one plain job) of a cohort sweep
- sweeper.py:  `hydra/sweeper=cohort` (declared in hydra_plugins/spaced_kd_cohort)

docs/cohorts.md says how to use it.
"""
