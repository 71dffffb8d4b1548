"""User errors survive SimPy's re-raise (``type(e)(*e.args)``) with type and message intact."""

from __future__ import annotations

from pathlib import Path

import pytest
import simpy

from simlab.errors import ParameterError, Problem, ScenarioError, SimlabError
from simlab.quiz.bank import BankError
from simlab.quiz.progress import ProgressError
from simlab.zoo import UnknownModelError, UntrustedArtifactError

ERRORS = [
    ScenarioError([Problem("a.b", "must be ≥ 1", "0"), Problem("c", "is required")], file="s.yaml"),
    ParameterError("memory_mb", "serverless", "must be one of 1024…6144", 512),
    UnknownModelError("unknown model 'x' (did you mean 'y'?)"),
    UntrustedArtifactError("/tmp/m.skops", ["builtins.eval"]),
    ProgressError(Path("/tmp/p.sqlite3"), "is locked"),
    BankError([ScenarioError([Problem("q[0].answer", "must be one of A-D", "'E'")], file="b.yaml")]),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
def test_error_rebuilt_from_args_is_the_same(error: SimlabError) -> None:
    rebuilt = type(error)(*error.args)
    assert str(rebuilt) == str(error) and str(error)


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
def test_error_raised_in_a_simpy_process_reaches_the_caller(error: SimlabError) -> None:
    env = simpy.Environment()

    def proc():
        yield env.timeout(1)
        raise error

    env.process(proc())
    with pytest.raises(type(error)) as info:
        env.run()
    assert str(info.value) == str(error)


def test_scenario_error_lines_name_file_and_field() -> None:
    err = ScenarioError([Problem("deployments[0].instance_count", "must be an integer ≥ 1", "0")], file="f.yaml")
    assert err.lines() == ["error: f.yaml: deployments[0].instance_count: must be an integer ≥ 1, got 0"]
    assert type(err)(*err.args).lines() == err.lines()
