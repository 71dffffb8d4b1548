"""The whole question bank: schema, coverage, uniqueness, curriculum sections, decidable facts."""

from __future__ import annotations

import itertools
import os
import re
from collections import Counter

import pytest

from simlab.facts import limit
from simlab.quiz.bank import BANK_ENV, LETTERS, Bank, Question, bank_dir, load_bank
from simlab.quiz.curriculum import ANSWER_IDS, SECTIONS, TOPICS
from simlab.quiz.session import shuffle_for

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def bank() -> Bank:
    env = {k: v for k, v in os.environ.items() if k != BANK_ENV}
    return load_bank(bank_dir(env))


def test_bank_loads_and_is_big_enough(bank: Bank) -> None:
    assert len(bank) >= 85


def test_every_topic_has_its_file_and_four_questions(bank: Bank) -> None:
    counts = Counter(q.topic for q in bank.questions)
    assert {t: counts[t] for t in TOPICS if counts[t] < 4} == {}
    files = {p.stem for p in bank.root.glob("*.yaml")}
    assert files == set(TOPICS)


def test_every_domain_is_valid(bank: Bank) -> None:
    assert {q.domain for q in bank.questions} <= {1, 2, 3, 4}


def test_every_exam_domain_has_questions(bank: Bank) -> None:
    counts = Counter(q.domain for q in bank.questions)
    assert all(counts[d] for d in (1, 2, 3, 4)), counts
    assert counts[1] >= 3  # data preparation: PII (Macie, masking) and storage tiering


def test_monitoring_and_observability_is_covered(bank: Bank) -> None:
    """CloudWatch metrics, alarms and dashboards, CloudWatch Logs retention and X-Ray tracing."""
    sections = [q.section for q in bank.questions
                if q.section.startswith("Monitoring & Observability")]
    assert len(sections) >= 4
    assert {s.split(" > ")[-1] for s in sections} == {
        "CloudWatch Integration", "CloudWatch Logs", "AWS X-Ray"}


def test_ids_are_unique_and_numbered_per_topic(bank: Bank) -> None:
    ids = [q.id for q in bank.questions]
    assert len(ids) == len(set(ids))
    for q in bank.questions:
        assert q.id.startswith(q.topic.replace("_", "-") + "-")


def _shingles(text: str, n: int = 3) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z0-9]+", text.lower())
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def test_no_near_duplicate_scenarios(bank: Bank) -> None:
    shingles = {q.id: _shingles(q.scenario) for q in bank.questions}
    close = []
    for a, b in itertools.combinations(bank.questions, 2):
        sa, sb = shingles[a.id], shingles[b.id]
        jaccard = len(sa & sb) / len(sa | sb)
        if jaccard > 0.3:
            close.append((a.id, b.id, round(jaccard, 2)))
    assert close == []


def test_no_two_questions_share_scenario_and_options(bank: Bank) -> None:
    keys = Counter((q.scenario, tuple(q.options.values())) for q in bank.questions)
    assert max(keys.values()) == 1


def test_bank_text_is_ascii(bank: Bank) -> None:
    """Plain ASCII renders on every terminal encoding."""
    for path in bank.root.glob("*.yaml"):
        bad = [i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
               if not line.isascii()]
        assert bad == [], f"{path.name}: non-ASCII on lines {bad}"


def test_options_are_distinct_within_a_question(bank: Bank) -> None:
    for q in bank.questions:
        assert len(set(q.options.values())) == 4, q.id


def test_sections_exist_in_the_curriculum(bank: Bank) -> None:
    assert {q.section for q in bank.questions} <= set(SECTIONS)


def test_section_list_is_a_heading_tree() -> None:
    """The repository's section list (simlab/quiz/curriculum.py, copied from the exam notes'
    headings) is a tree in document order: unique paths, each nested path after its parent."""
    assert len(set(SECTIONS)) == len(SECTIONS) and len(SECTIONS) >= 20
    for i, path in enumerate(SECTIONS):
        parent = path.rpartition(" > ")[0]
        assert not parent or parent in SECTIONS[:i], path


def test_cli_topic_choices_match_curriculum() -> None:
    from simlab.commands.quiz import TOPIC_CHOICES

    assert TOPIC_CHOICES == TOPICS


# ----------------------------------------------------------------- decidable facts


def test_at_least_thirty_questions_carry_facts(bank: Bank) -> None:
    assert sum(1 for q in bank.questions if q.facts) >= 30


def reference_answer(f: dict) -> str:
    """The decision rules of the engine's public contract, with limits from simlab.facts."""
    if f["question"] == "rollout":
        if f["goal"] == "simplest":
            assert f["downtime_ok"]
            return "all_at_once"
        return {"reduce_risk": "canary", "compare_models": "ab_test", "no_user_impact": "shadow",
                "instant_switch": "blue_green", "gradual_steps": "linear"}[f["goal"]]
    if f["question"] == "monitoring":
        if f["concern"] == "accuracy":
            assert f["labels"] != "none"
            return "model_quality"
        if f["concern"] == "input_drift":
            assert f["labels"] == "none"
        return {"input_drift": "data_quality", "bias": "bias_drift",
                "feature_importance": "feature_attribution_drift"}[f["concern"]]
    return _deployment(f)


def _deployment(f: dict) -> str:
    size, secs = f["payload_mb"] * MIB, f["inference_seconds"]
    if f["containers"] >= 2:
        assert f["containers"] <= limit("serial_inference_pipeline.max_containers")
        return "serial_inference_pipeline"
    if f["models"] > 1:
        return "multi_model_endpoint"
    if f["records"] is not None and not f["realtime"]:
        return "batch_transform"
    too_big = (size > limit("real_time_endpoint.max_payload_bytes")
               or secs > limit("real_time_endpoint.max_processing_s"))
    if too_big:
        assert not f["realtime"]
        assert size <= limit("async_inference.max_payload_bytes")
        assert secs <= limit("async_inference.max_processing_s")
        return "async_inference"
    if (f["traffic"] == "intermittent" and f["cold_start_ok"]
            and size <= limit("serverless_inference.max_payload_bytes")
            and secs <= limit("serverless_inference.max_processing_s")):
        return "serverless_inference"
    assert f["traffic"] != "intermittent" or not f["cold_start_ok"]
    return "real_time_endpoint"


def test_facts_questions_are_clear_cut(bank: Bank) -> None:
    """The keyed answer is what the contract's rules decide from the facts."""
    wrong = {q.id: (q.option_ids[q.answer], reference_answer(q.facts))
             for q in bank.questions if q.facts
             and q.option_ids[q.answer] != reference_answer(q.facts)}
    assert wrong == {}


def test_facts_question_types_cover_every_answer_id(bank: Bank) -> None:
    keyed = {q.option_ids[q.answer] for q in bank.questions if q.facts}
    assert keyed == {i for ids in ANSWER_IDS.values() for i in ids}


def test_decision_engine_agrees(bank: Bank) -> None:
    """The engine itself gives the keyed answer for every question that carries facts."""
    from simlab.decide import recommend

    disagreements = {}
    for q in bank.questions:
        if q.facts:
            got = recommend(dict(q.facts)).recommendation
            if got != q.option_ids[q.answer]:
                disagreements[q.id] = (q.option_ids[q.answer], got)
    assert disagreements == {}


# ----------------------------------------------------------------- option order and length


def test_displayed_correct_letter_is_roughly_uniform(bank: Bank) -> None:
    """Shuffled per seed, the key shows up as A, B, C and D about equally often.

    Over 200 seeds x the whole bank, Pearson's chi-square against a uniform split must stay
    below 16.27 (3 degrees of freedom, p = 0.001); the seeds are fixed, so this is deterministic.
    Without the shuffle the bank's own letters give a chi-square in the hundreds.
    """
    seeds = range(200)
    shown = Counter(shuffle_for(q.id, seed).shown(q.answer)
                    for seed in seeds for q in bank.questions)
    expected = len(seeds) * len(bank) / 4
    chi2 = sum((shown[k] - expected) ** 2 / expected for k in LETTERS)
    assert chi2 < 16.27, (chi2, dict(shown))
    # and no question keeps its key on one letter across seeds
    stuck = [q.id for q in bank.questions
             if len({shuffle_for(q.id, seed).shown(q.answer) for seed in range(40)}) < 4]
    assert stuck == []


def _length_pick(q: Question, pick=max) -> tuple[bool, float]:
    """(the key is a longest option, expected score of "pick the longest" with ties split).

    With ``pick=min``: the same for the shortest option.
    """
    lengths = {k: len(v) for k, v in q.options.items()}
    top = [k for k, n in lengths.items() if n == pick(lengths.values())]
    return q.answer in top, (1 / len(top) if q.answer in top else 0.0)


def test_the_longest_option_is_not_a_tell(bank: Bank) -> None:
    """Distractors are as specific as the key, so length gives the answer away rarely.

    Bounds: the key is (one of) the longest options in at most 35 % of questions, and the
    strategy "always pick the longest option" scores below 40 % (chance is 25 %); so does "always
    pick the shortest", so that trimming keys cannot turn the tell around. Before the options were
    rewritten the first two were 82 % and 81 %.
    """
    picks = [_length_pick(q) for q in bank.questions]
    key_longest = sum(longest for longest, _ in picks) / len(picks)
    strategy = sum(score for _, score in picks) / len(picks)
    shortest = sum(_length_pick(q, min)[1] for q in bank.questions) / len(bank)
    assert key_longest <= 0.35, f"key is the longest option in {key_longest:.0%} of questions"
    assert strategy < 0.40, f"picking the longest option scores {strategy:.0%}"
    assert shortest < 0.40, f"picking the shortest option scores {shortest:.0%}"
