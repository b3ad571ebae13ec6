"""The client side of the server benchmark, run as the child of ``credproc exec --server``.

It reads the endpoint the way an SDK does (``AWS_CONTAINER_CREDENTIALS_FULL_URI`` and
``AWS_CONTAINER_AUTHORIZATION_TOKEN``), makes N sequential GETs, one connection each (the server
carries one request per connection, as SDKs use it), then N more from 8 threads at once, checks
every answer, and prints one JSON line
of per-request latencies (ms) and the server's peak RSS on stdout. No secret is printed.

The server is this process's parent (``exec --server`` serves while it waits for its child), so its
peak RSS is the parent's ``VmHWM`` in /proc, read after the load; GNU time around ``exec`` would
report the larger of the two processes instead.

    python bench/serverload.py N
"""

from __future__ import annotations

import http.client
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

CLIENTS = 8


def parent_peak_rss_kb() -> int | None:
    try:
        status = Path(f"/proc/{os.getppid()}/status").read_text()
    except OSError:  # not Linux
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return None


class Endpoint:
    def __init__(self) -> None:
        url = urlsplit(os.environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"])
        self.host, self.port, self.path = url.hostname or "127.0.0.1", url.port or 80, url.path
        self.token = os.environ["AWS_CONTAINER_AUTHORIZATION_TOKEN"]

    def get(self, _: object = None) -> float:
        """One request on its own connection; its latency in ms. A bad answer ends the run."""
        before = time.perf_counter()
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        conn.request("GET", self.path, headers={"Authorization": self.token})
        response = conn.getresponse()
        body = response.read()
        conn.close()
        elapsed = (time.perf_counter() - before) * 1000
        if response.status != 200 or "AccessKeyId" not in json.loads(body):
            raise SystemExit(f"serverload: HTTP {response.status} from the endpoint")
        return elapsed


def main() -> int:
    count = int(sys.argv[1])
    endpoint = Endpoint()
    started = time.perf_counter()
    latencies = [endpoint.get() for _ in range(count)]
    sequential = time.perf_counter() - started
    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:  # several clients at once, as a pod's containers would
        concurrent = list(pool.map(endpoint.get, range(count)))
    parallel = time.perf_counter() - started
    print(
        json.dumps(
            {
                "latencies_ms": latencies,
                "total_s": sequential,
                "concurrent_latencies_ms": concurrent,
                "concurrent_total_s": parallel,
                "clients": CLIENTS,
                "server_max_rss_kb": parent_peak_rss_kb(),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
