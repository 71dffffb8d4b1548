"""The curriculum the quiz bank maps onto: topics, exam domains, section headings, answer ids.

``SECTIONS`` is every heading path of the exam notes (``shared/seeds/000_*.md``): the H2 heading,
then ``H2 > H3`` and ``H2 > H3 > H4``, with the ``#exam-tip``-style tags removed. Each question's
``section`` must be one of them, so a weak topic can always point at the part of the notes to
re-read. ``tests/test_quiz_bank.py`` re-derives the list from the notes when they are available.
"""

from __future__ import annotations

from simlab.decide.answers import ANSWERS, QUESTIONS

__all__ = [
    "TOPICS", "DOMAINS", "SECTIONS", "ANSWER_IDS", "FACT_QUESTIONS", "topic_prefix",
]

#: Topic ids in curriculum order; each has one bank file ``scenarios/quiz/<topic>.yaml``.
TOPICS: tuple[str, ...] = (
    "deployment_options",
    "serverless",
    "batch_transform",
    "async_inference",
    "multi_model",
    "serial_pipeline",
    "rollouts",
    "experiments_registry",
    "pipelines_projects",
    "data_capture",
    "model_monitor",
    "inference_optimization",
    "autoscaling",
    "retraining",
    "infrastructure_as_code",
    "security",
    "cost_optimization",
)

#: MLA-C01 exam domains (weights per the third-party blueprint: 28 / 26 / 22 / 24 %).
DOMAINS: dict[int, str] = {
    1: "Data Preparation for Machine Learning",
    2: "ML Model Development",
    3: "Deployment and Orchestration of ML Workflows",
    4: "ML Solution Monitoring, Maintenance, and Security",
}

#: The decision-engine question types and the answer ids each may give: one source of truth,
#: the public contract of ``simlab.decide`` (``option_ids`` values in the bank must come from it).
ANSWER_IDS: dict[str, tuple[str, ...]] = ANSWERS
FACT_QUESTIONS: tuple[str, ...] = QUESTIONS

SECTIONS: tuple[str, ...] = (
    "Overview",
    "Deployment Strategies",
    "Deployment Strategies > Real-time Inference (SageMaker Endpoints)",
    "Deployment Strategies > Batch Transform (Offline Inference)",
    "Deployment Strategies > SageMaker Serverless Inference",
    "Deployment Strategies > Deployment Comparison Table",
    "Experiment Tracking & Versioning",
    "Experiment Tracking & Versioning > SageMaker Experiments",
    "Experiment Tracking & Versioning > SageMaker Experiments > Hierarchy Structure",
    "Experiment Tracking & Versioning > SageMaker Experiments > How It Works",
    "Experiment Tracking & Versioning > SageMaker Experiments > Key Features",
    "Experiment Tracking & Versioning > SageMaker Experiments > Use Cases",
    "Experiment Tracking & Versioning > SageMaker Experiments > Best Practices",
    "Experiment Tracking & Versioning > SageMaker Experiments > Experiments vs Model Registry",
    "Experiment Tracking & Versioning > SageMaker Experiments > Pricing",
    "Experiment Tracking & Versioning > SageMaker Experiments > Limitations",
    "Experiment Tracking & Versioning > TensorBoard",
    "Experiment Tracking & Versioning > TensorBoard > What TensorBoard Provides",
    "Experiment Tracking & Versioning > TensorBoard > TensorBoard with SageMaker",
    "Experiment Tracking & Versioning > TensorBoard > Key Features for Exam",
    "Experiment Tracking & Versioning > TensorBoard > TensorBoard vs SageMaker Experiments",
    "Experiment Tracking & Versioning > TensorBoard > Use Cases",
    "Experiment Tracking & Versioning > TensorBoard > Best Practices",
    "Experiment Tracking & Versioning > TensorBoard > Limitations",
    "Experiment Tracking & Versioning > TensorBoard > Pricing",
    "Experiment Tracking & Versioning > TensorBoard > Exam Scenarios",
    "Model Registry & Versioning",
    "Model Registry & Versioning > SageMaker Model Registry",
    "CI/CD for ML",
    "CI/CD for ML > SageMaker Pipelines",
    "CI/CD for ML > SageMaker Projects",
    "Model Monitoring",
    "Model Monitoring > SageMaker Model Monitor",
    "Model Monitoring > Data Capture",
    "Model Monitoring > Data Capture > 1. Data Quality Monitoring",
    "Model Monitoring > Data Capture > 2. Model Quality Monitoring",
    "Model Monitoring > Data Capture > 3. Bias Drift Monitoring",
    "Model Monitoring > Data Capture > 4. Feature Attribution Drift",
    "Model Monitoring > Monitoring Types Comparison",
    "Inference Optimization",
    "Inference Optimization > Model Optimization Techniques",
    "Inference Optimization > Model Optimization Techniques > SageMaker Neo",
    "Inference Optimization > Model Optimization Techniques > Elastic Inference",
    "Inference Optimization > Model Optimization Techniques > Multi-Model Endpoints",
    "Inference Optimization > Auto-Scaling",
    "Model Retraining Strategies",
    "Model Retraining Strategies > When to Retrain",
    "Model Retraining Strategies > Retraining Approaches",
    "Model Retraining Strategies > Retraining Approaches > 1. Full Retraining",
    "Model Retraining Strategies > Retraining Approaches > 2. Incremental Training",
    "Model Retraining Strategies > Retraining Approaches > 3. Online Learning",
    "Infrastructure as Code",
    "Infrastructure as Code > AWS CloudFormation",
    "Infrastructure as Code > AWS CDK (Cloud Development Kit)",
    "Infrastructure as Code > SageMaker Projects",
    "Security & Compliance",
    "Security & Compliance > Quick Security Checklist",
    "Monitoring & Observability",
    "Monitoring & Observability > CloudWatch Integration",
    "Monitoring & Observability > CloudWatch Logs",
    "Monitoring & Observability > AWS X-Ray",
    "Cost Optimization",
    "Cost Optimization > Training Cost Optimization",
    "Cost Optimization > Inference Cost Optimization",
    "Cost Optimization > Storage Cost Optimization",
    "Exam Scenarios Summary",
    "Related Topics",
)


def topic_prefix(topic: str) -> str:
    """The question-id prefix of a topic: ``multi_model`` -> ``multi-model``."""
    return topic.replace("_", "-")
