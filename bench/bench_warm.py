"""First views after an update: what the first reader of each page waits for, on a server that
works the pages' whole-store figures out only when asked (cold) and on one that works them out
as soon as the store changes (warmed, as `curemap serve` does: :mod:`curemap.web.warming`).

Each mode starts a server of its own over the store on 127.0.0.1 (a new process: nothing
computed yet, as after an update) and requests every page once, one after another; the warmed
server is first left to finish its warm-up (until `/api/status` says its pages are ready),
whose time is printed. Run it over a store a
`bench_scale.py` run left behind, e.g.::

    python bench/bench_warm.py --db sqlite:///DIR/curemap.db
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
from bench_scale import free_port  # noqa: E402

SERVER = """
import sys, uvicorn
from curemap.store import Store
from curemap.web import create_app
uvicorn.run(create_app(Store(sys.argv[1]), warm=sys.argv[3] == "warm"), host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""

PAGES = [
    "/", "/api/stats", "/strategies", "/api/strategies", "/strategies/ahsct", "/api/strategies/ahsct",
    "/strategies/anti_cd20", "/api/strategies/anti_cd20", "/strategies/dmt_other", "/api/strategies/dmt_other", "/report",
]


def first_views(url: str, mode: str) -> tuple[float | None, dict[str, float]]:
    """The warm-up's seconds (None when cold) and each page's first view in ms."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, url, str(port), mode],
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    try:
        warmed = None
        views = {}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=900) as client:
            for _ in range(600):
                try:
                    status = client.get("/api/status").json()
                    break
                except httpx.TransportError:
                    time.sleep(0.2)
            while mode == "warm" and not status["pages"]["ready"]:
                time.sleep(0.2)
                status = client.get("/api/status").json()
            if mode == "warm":
                warmed = status["pages"]["worked_out_in_s"]
            for page in PAGES:
                began = time.perf_counter()
                client.get(page).raise_for_status()
                views[page] = (time.perf_counter() - began) * 1000
        return warmed, views
    finally:
        server.terminate()
        server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True, help="the store: a SQLite file, or a URL (sqlite:///… or postgresql://…)")
    parser.add_argument("--rounds", type=int, default=1, help="times each mode is run, alternating")
    args = parser.parse_args()
    if "://" not in args.db:
        args.db = f"sqlite:///{Path(args.db).resolve()}"
    print(f"machine: {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}", flush=True)
    results = {"cold": [], "warm": []}
    for _ in range(args.rounds):
        for mode in ("cold", "warm"):
            results[mode].append(first_views(args.db, mode))
            warmed = results[mode][-1][0]
            print(f"{mode} server done" + (f": warmed up in {warmed:.1f} s" if warmed is not None else ""), flush=True)
    print("\nfirst view after an update, ms (one per round)     cold            warmed")
    for page in PAGES:
        cold = ", ".join(f"{views[page]:,.0f}" for _, views in results["cold"])
        warm = ", ".join(f"{views[page]:,.0f}" for _, views in results["warm"])
        print(f"  {page:42s} {cold:>14s}  {warm:>14s}")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
