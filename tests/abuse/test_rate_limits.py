"""(d) Rate limits hold under concurrency: per API key (across source IPs) and per source IP (across
keys by default; for unverified keys only with ``ENGRAM_RATE_LIMIT_ADDRESS_SCOPE=unverified``).

The local server sees the socket's source address as ``sourceIp``; binding the client to
127.0.0.2 … 127.0.0.9 (all loopback on Linux) gives each thread its own address.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from requests.adapters import HTTPAdapter

from engram.testing.server import LocalServer
from tests.abuse.conftest import assert_error
from tests.fuzz import live
from tests.support.clock import same_rate_window

pytestmark = pytest.mark.e2e

LIMIT = 20
KEY = "egm_abuse_rate_limit_0123456789abcdef"


class SourceAddressAdapter(HTTPAdapter):
    def __init__(self, source_ip: str) -> None:
        self.source_ip = source_ip
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self.source_ip, 0)
        super().init_poolmanager(*args, **kwargs)


def client(source_ip: str) -> requests.Session:
    session = requests.Session()
    session.mount("http://", SourceAddressAdapter(source_ip))
    return session


def _loopback_aliases_work(url: str) -> bool:
    try:
        return client("127.0.0.2").get(f"{url}/v1/health", timeout=10).status_code == 200
    except requests.RequestException:
        return False


def _server(tmp_path_factory: pytest.TempPathFactory, **env: str) -> Iterator[LocalServer]:
    server = live.start(
        tmp_path_factory.mktemp("rate") / "data", KEY, env={"ENGRAM_RATE_LIMIT_PER_MINUTE": str(LIMIT), **env}
    )
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    """The default address scope (the contract): every request counts against its key and its address."""
    yield from _server(tmp_path_factory)


@pytest.fixture(scope="module")
def limited_unverified(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    """The opt-in scope: only unverified requests count against an address (one counter write each)."""
    yield from _server(tmp_path_factory, ENGRAM_RATE_LIMIT_ADDRESS_SCOPE="unverified")


def burst(server: LocalServer, calls: list[tuple[str, str]]) -> list[requests.Response]:
    """(source ip, api key) per request, all at once from 8 threads."""
    clients = {ip: client(ip) for ip, _ in calls}

    def one(call: tuple[str, str]) -> requests.Response:
        ip, key = call
        return clients[ip].get(f"{server.url}/v1/sessions", headers={"Authorization": f"Bearer {key}"}, timeout=60)

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one, calls))


def _assert_limited(replies: list[requests.Response], message: str, ok: int = 200) -> None:
    codes = Counter(r.status_code for r in replies)
    assert codes == {ok: LIMIT, 429: len(replies) - LIMIT}, codes
    for reply in replies:
        if reply.status_code == 429:
            body = assert_error(reply, 429, "rate_limited")
            assert message in body["error"]["message"], body
            assert 1 <= int(reply.headers["Retry-After"]) <= 60, reply.headers


def test_one_key_from_eight_addresses_gets_exactly_the_limit(limited: LocalServer) -> None:
    if not _loopback_aliases_work(limited.url):
        pytest.skip("cannot bind 127.0.0.x source addresses here")
    key = live.cli(limited, "keys", "create", "--tenant", "rate_a")["api_key"]
    same_rate_window()
    # 40 requests, 5 from each of 8 addresses: no address reaches the limit, the key does.
    calls = [(f"127.0.0.{2 + i % 8}", key) for i in range(2 * LIMIT)]
    _assert_limited(burst(limited, calls), "API key")


def test_one_address_with_two_keys_gets_exactly_the_limit(limited: LocalServer) -> None:
    keys = [live.cli(limited, "keys", "create", "--tenant", f"rate_{t}")["api_key"] for t in ("b", "c")]
    ip = "127.0.0.10" if _loopback_aliases_work(limited.url) else "127.0.0.1"
    same_rate_window()
    # 40 requests from one address, 20 per key: no key reaches the limit alone, the address does.
    calls = [(ip, keys[i % 2]) for i in range(2 * LIMIT)]
    _assert_limited(burst(limited, calls), "address")


def test_unverified_scope_gives_an_address_with_two_keys_the_limit_of_each_key(
    limited_unverified: LocalServer,
) -> None:
    keys = [live.cli(limited_unverified, "keys", "create", "--tenant", f"rate_{t}")["api_key"] for t in ("d", "e")]
    ip = "127.0.0.11" if _loopback_aliases_work(limited_unverified.url) else "127.0.0.1"
    same_rate_window()
    # 60 requests from one address, 30 per key (a fleet behind one NAT address): each key gets exactly
    # its own limit; the address is counted only for each key's first, unverified use.
    replies = burst(limited_unverified, [(ip, keys[i % 2]) for i in range(3 * LIMIT)])
    codes = Counter(r.status_code for r in replies)
    assert codes == {200: 2 * LIMIT, 429: LIMIT}, codes
    assert all("API key" in r.json()["error"]["message"] for r in replies if r.status_code == 429)


@pytest.mark.parametrize("scope", ["all", "unverified"])
def test_an_address_guessing_keys_gets_exactly_the_limit(
    scope: str, limited: LocalServer, limited_unverified: LocalServer
) -> None:
    server = limited if scope == "all" else limited_unverified
    ip = ("127.0.0.12" if scope == "all" else "127.0.0.13") if _loopback_aliases_work(server.url) else "127.0.0.1"
    same_rate_window()
    calls = [(ip, f"egm_guess_{scope}_{i:04d}_0123456789abcdef") for i in range(2 * LIMIT)]
    _assert_limited(burst(server, calls), "address", ok=401)
