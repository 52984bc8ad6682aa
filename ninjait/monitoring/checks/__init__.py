"""Checks: what to watch on devices (thresholds, probes, agent-side checks), their states and history."""
