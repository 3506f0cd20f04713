"""bench-soak's verdict: RSS at the end against RSS after the warm-up, beside the data held."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from bench.soak import Traffic, summarize


def _samples(server_mb: list[float], items: list[int]) -> list[dict[str, Any]]:
    return [
        {
            "t_s": float(10 * i),
            "requests": 5 * i,
            "message_mb": 0.1 * i,
            "server_rss_mb": rss,
            "handlers_rss_mb": 200.0,
            "handlers": 2,
            "items": {"sessions": count, "messages": 0, "memories": 0},
            "data_mb": 0.01 * count,
        }
        for i, (rss, count) in enumerate(zip(server_mb, items, strict=True))
    ]


def _verdict(server_mb: list[float], items: list[int]) -> dict[str, Any]:
    args = argparse.Namespace(duration=40.0, agents=2, interval=10.0, warmup=0.25, server_workers=None)
    samples = _samples(server_mb, items)
    return summarize(args, samples, samples[-1], Traffic(), 40.0, 1.0, 0, "")


@pytest.mark.parametrize(
    ("server_mb", "flat", "growth"),
    [
        # warm-up ends at 10 s (100 MB + 200 MB of handlers); the end is compared with it, not with the start
        ([50.0, 100.0, 110.0, 120.0, 130.0], True, 0.1),
        ([50.0, 100.0, 150.0, 200.0, 190.0], False, 0.3),
    ],
)
def test_rss_after_warm_up_is_compared_with_the_end(server_mb: list[float], flat: bool, growth: float) -> None:
    result = _verdict(server_mb, [0, 10, 20, 30, 40])
    assert result["after_warmup"] == {"t_s": 10.0, "rss_mb": server_mb[1] + 200.0, "items": 10, "data_mb": 0.1}
    assert result["at_end"]["items"] == 40
    assert result["data_growth_after_warmup"] == 4.0
    assert result["rss_growth_after_warmup"]["total"] == pytest.approx(growth, abs=1e-3)
    assert result["flat"] is flat
    assert ("**flat**" if flat else "**NOT flat**") in result["markdown"]
