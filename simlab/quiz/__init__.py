"""Exam practice for the deployment and monitoring part of MLA-C01 (``simlab quiz``).

Modules: :mod:`~simlab.quiz.curriculum` (topics, domains, sections), :mod:`~simlab.quiz.bank`
(loading and validating ``scenarios/quiz/*.yaml``), :mod:`~simlab.quiz.scheduler` (Leitner boxes),
:mod:`~simlab.quiz.progress` (SQLite store), :mod:`~simlab.quiz.session` (the question loop) and
:mod:`~simlab.quiz.report` (scores and stats). None imports numpy, pandas or scikit-learn.
"""
