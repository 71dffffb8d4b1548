"""Endpoint updates with deployment guardrails, canary judges, A/B statistics and power planning.

Modules (imports go one way: stats ← judges, power; config; controller):

- :mod:`simlab.rollouts.stats` — fixed-horizon tests, sample sizes, the always-valid mSPRT;
- :mod:`simlab.rollouts.judges` — threshold, Mann–Whitney (Kayenta) and sequential judges;
- :mod:`simlab.rollouts.power` — probability that a judge or alarm catches a regression;
- :mod:`simlab.rollouts.config` — the ``updates:`` scenario fields (constraints as data);
- :mod:`simlab.rollouts.controller` — the SimPy process that carries out one update;
- :mod:`simlab.rollouts.run` and :mod:`simlab.rollouts.feature` — the feature of the run (simlab.features).
"""
