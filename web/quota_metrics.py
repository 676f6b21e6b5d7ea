"""The budget gauges of the contract, in Prometheus text format, and the learnt quota."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily


def budget_metrics(report: Mapping[str, Any]) -> bytes:
    """`nowplaying_spotify_calls_24h`, `_budget` and `_paused_until_seconds` (0: not
    paused) from the report /readyz shows; calls_24h is left out when Redis is away."""
    gauges: list[GaugeMetricFamily] = []
    if report.get("calls24h") is not None:
        gauges.append(
            GaugeMetricFamily(
                "nowplaying_spotify_calls_24h",
                "Spotify calls in the rolling 24 h, every endpoint",
                value=report["calls24h"],
            )
        )
    gauges.append(
        GaugeMetricFamily(
            "nowplaying_spotify_budget",
            "SPOTIFY_DAILY_BUDGET, or the lower budget a QUOTA_EXCEEDED taught",
            value=report["budget"],
        )
    )
    if report.get("learntQuota") is not None:
        gauges.append(
            GaugeMetricFamily(
                "nowplaying_spotify_learnt_quota",
                "Spotify calls made in the 24 h before the last QUOTA_EXCEEDED (7 days)",
                value=report["learntQuota"],
            )
        )
    paused = report.get("pausedUntil")
    gauges.append(
        GaugeMetricFamily(
            "nowplaying_spotify_paused_until_seconds",
            "Epoch seconds until which Spotify may not be called; 0 when not paused",
            value=paused / 1000 if paused else 0,
        )
    )

    class Collector:
        def collect(self) -> list[GaugeMetricFamily]:
            return gauges

    registry = CollectorRegistry(auto_describe=False)
    registry.register(Collector())
    return generate_latest(registry)
