"""Model monitoring on the simulated clock: data capture, baselines, Model Monitor jobs (data
quality, model quality, bias drift, feature attribution drift), CBPE, ground truth that arrives
late, time to detect, and retraining of the real model. See docs/monitoring.md.

Monitoring joins a run as a feature (simlab.monitoring.feature, registered in simlab.features):
its run is built only when a scenario uses drift, ground truth or a monitoring field.
"""

