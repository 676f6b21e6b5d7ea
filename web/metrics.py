"""Prometheus metrics: the web process's own, plus the poller's counters kept in Redis."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from shared import stats
from web.hub import Hub


class HubCollector:
    """Reads live values from the hub at scrape time (no bookkeeping on the hot path)."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    def collect(self) -> Iterator[Metric]:
        hub = self.hub
        yield GaugeMetricFamily(
            "nowplaying_sse_subscribers", "Open SSE streams now", value=len(hub.subscribers)
        )
        yield CounterMetricFamily(
            "nowplaying_sse_events_sent", "SSE document events sent", value=hub.events_sent
        )
        yield CounterMetricFamily(
            "nowplaying_sse_slow_clients_dropped",
            "Streams closed because the client stopped reading",
            value=hub.slow_dropped,
        )
        yield CounterMetricFamily(
            "nowplaying_redis_reconnects", "Redis subscription reconnects", value=hub.reconnects
        )
        yield GaugeMetricFamily(
            "nowplaying_redis_subscribed",
            "1 while subscribed to Redis",
            value=1 if hub.redis_ok else 0,
        )
        yield GaugeMetricFamily(
            "nowplaying_document_version", "Version of the served document", value=hub.version
        )
        yield GaugeMetricFamily(
            "nowplaying_document_stale",
            "1 while the document is stale",
            value=1 if hub.document["stale"] else 0,
        )
        yield GaugeMetricFamily(
            "nowplaying_asyncio_tasks",
            "Tasks alive in the event loop (two per open stream; a leak shows here)",
            value=len(asyncio.all_tasks()),
        )


class RequestCounts:
    """Answers by (route, status), counted with a dict add per request and exported at
    scrape time: a prometheus_client Counter takes a lock on every `inc`, which the JSON
    route would pay on every request."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, int], int] = {}

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "nowplaying_http_requests",
            "HTTP requests by route and status",
            labels=["route", "status"],
        )
        for (route, status), value in sorted(self.counts.items()):
            family.add_metric([route, str(status)], value)
        yield family


class Metrics:
    def __init__(self, hub: Hub) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(HubCollector(hub))
        self.requests = RequestCounts()
        self.registry.register(self.requests)

    def count(self, route: str, status: int) -> None:
        """One answer of `route` (a bounded label: web/routes.py's `metric_label`)."""
        key = (route, status)
        counts = self.requests.counts
        counts[key] = counts.get(key, 0) + 1

    def render(self, poller_stats: Mapping[str, int], token_days_left: float | None) -> bytes:
        extra = CollectorRegistry(auto_describe=False)
        extra.register(PollerCollector(poller_stats, token_days_left))
        return generate_latest(self.registry) + generate_latest(extra)


class PollerCollector:
    def __init__(self, stats: Mapping[str, int], token_days_left: float | None) -> None:
        self.stats = stats
        self.days = token_days_left

    def collect(self) -> Iterator[Metric]:
        polls = CounterMetricFamily(
            "nowplaying_poller_polls", "Polls by outcome", labels=["outcome"]
        )
        calls = CounterMetricFamily(
            "nowplaying_spotify_calls",
            "Spotify calls by endpoint and status",
            labels=["endpoint", "status"],
        )
        sources = CounterMetricFamily(
            "nowplaying_source_calls",
            "Calls to providers other than Spotify, by provider, endpoint and status",
            labels=["provider", "endpoint", "status"],
        )
        for key, value in sorted(self.stats.items()):
            stat = stats.parse(key, value)
            if stat is None:
                continue
            if stat.kind == "poll":
                polls.add_metric([stat.name], value)
            elif stat.provider == "spotify":
                calls.add_metric([stat.name, stat.status], value)
            else:
                sources.add_metric([stat.provider, stat.name, stat.status], value)
        yield polls
        yield calls
        yield sources
        if self.days is not None:
            yield GaugeMetricFamily(
                "nowplaying_refresh_token_days_left",
                "Days until the Spotify refresh token expires",
                value=self.days,
            )
