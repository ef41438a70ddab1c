"""Load test of the web server: p50/p95 latency and throughput for the overview, a strategy
page, a study page and a filtered API list at 1, 10 and 50 concurrent clients.

Builds the MS store from the bundled offline snapshot in a temporary home (or uses --home),
starts a real ``curemap serve`` on a free port of 127.0.0.1 and drives it with asyncio
clients. Each (endpoint, concurrency) run is bounded by a request count and a time limit.
Target: p95 under 50 ms at 10 clients.

Usage: python bench/bench_web.py [--home DIR] [--requests 400] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ENDPOINTS = {
    "overview": "/",
    "strategy page": "/strategies/anti_cd20",
    "study page": "/studies/NCT04047628",
    "filtered API list": "/api/studies?strategy=anti_cd20&status=RECRUITING&ms=true&per_page=50",
}
CONCURRENCY = (1, 10, 50)
TARGET_P95_MS = 50.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def curemap(*args: str) -> list[str]:
    return [sys.executable, "-m", "curemap.cli", *args]


async def load(base: str, path: str, clients: int, total: int, seconds: float) -> tuple[list[float], float, int]:
    """Run ``total`` requests (or until ``seconds`` pass) with ``clients`` at once; latencies in ms."""
    latencies: list[float] = []
    failures = 0
    remaining = total
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:

        # Open every client's connection first, so the figures are of requests, not TCP set-up.
        await asyncio.gather(*(client.get(path) for _ in range(clients)))

        async def worker() -> None:
            nonlocal remaining, failures
            while remaining > 0 and time.perf_counter() < deadline:
                remaining -= 1
                started = time.perf_counter()
                response = await client.get(path)
                latencies.append((time.perf_counter() - started) * 1000)
                failures += response.status_code != 200

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return latencies, elapsed, failures


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="a built home to serve (default: build one from the offline snapshot)")
    parser.add_argument("--requests", type=int, default=400, help="requests per endpoint and concurrency")
    parser.add_argument("--seconds", type=float, default=20.0, help="time limit per endpoint and concurrency")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        home = args.home
        if home is None:
            home = Path(scratch) / "home"
            print("building the MS store from the offline snapshot…", file=sys.stderr)
            subprocess.run(curemap("--home", str(home), "build", "--offline", "--json"), check=True, capture_output=True)
        port = free_port()
        server = subprocess.Popen(curemap("--home", str(home), "serve", "--port", str(port)), stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    httpx.get(base + "/api/status", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            for path in ENDPOINTS.values():  # warm: first requests fill the aggregate cache
                httpx.get(base + path, timeout=60).raise_for_status()
            print(f"{'endpoint':<18} {'clients':>7} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8} {'req/s':>8} {'errors':>6}")
            worst_at_10 = 0.0
            for name, path in ENDPOINTS.items():
                for clients in CONCURRENCY:
                    latencies, elapsed, failures = asyncio.run(load(base, path, clients, args.requests, args.seconds))
                    p50, p95 = statistics.median(latencies), percentile(latencies, 0.95)
                    if clients == 10:
                        worst_at_10 = max(worst_at_10, p95)
                    print(
                        f"{name:<18} {clients:>7} {len(latencies):>8} {p50:>8.1f} {p95:>8.1f} "
                        f"{len(latencies) / elapsed:>8.0f} {failures:>6}"
                    )
            verdict = "met" if worst_at_10 < TARGET_P95_MS else "NOT met"
            print(f"worst p95 at 10 clients: {worst_at_10:.1f} ms (target < {TARGET_P95_MS:.0f} ms: {verdict})")
        finally:
            server.terminate()
            server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
