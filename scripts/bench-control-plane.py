#!/usr/bin/env python3
"""One-client load of a running control plane on loopback, the way a small script drives it (issue 15).

    scripts/bench-control-plane.py BASE_URL API_KEY [--seconds S] [--rounds R] [--idempotency]

One keep-alive connection (http.client, stdlib only). Per pair of VPCs it makes the 8 calls of a peering set-up:
2 VPC creates, a peering create and its accept, 2 VPC reads, and one route per VPC's main route table to the
other VPC through the peering. The server's own time per call comes from the `Server-Timing: app;dur=<ms>`
header of each answer. The client's floor is the same client calling `/healthz` (no database, no JSON body) on
the same connection, measured in the same run: R rounds, each S/R seconds of `/healthz` then S/R seconds of
pairs, so a slow moment of the machine weighs on both alike.

Prints, per call kind and for writes (POST) and reads (GET): median and p95 server time; then the client's
calls/s for the pairs, its floor on `/healthz`, and their ratio. Exits 1 if any call failed (non-2xx).
"""

import argparse
import http.client
import json
import statistics
import sys
import time
import urllib.parse

WRITES = ("create_vpc", "create_peering", "accept_peering", "add_route")
READS = ("get_vpc",)


def pct(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, round((len(s) - 1) * p))]


class Client:
    def __init__(self, base, key, idempotency):
        u = urllib.parse.urlsplit(base)
        if u.scheme != "http" or u.hostname not in ("127.0.0.1", "localhost", "::1"):
            sys.exit(f"{base}: loopback http only")
        self.conn = http.client.HTTPConnection(u.hostname, u.port or 80)
        self.auth = {"Authorization": f"Bearer {key}"}
        self.post_headers = {**self.auth, "Content-Type": "application/json"}
        self.idempotency = idempotency
        self.sequence = 0
        self.failures = []

    def call(self, method, path, body=None, headers=None):
        """One request; answers (status, parsed JSON or None, server ms or None)."""
        if body is not None:
            h = self.post_headers
            if self.idempotency:
                self.sequence += 1
                h = {**h, "Idempotency-Key": f"bench-{time.time_ns()}-{self.sequence}"}
            self.conn.request(method, path, json.dumps(body), h)
        else:
            self.conn.request(method, path, headers=self.auth if headers is None else headers)
        res = self.conn.getresponse()
        data = res.read()
        timing = res.getheader("Server-Timing")
        server_ms = float(timing.split("dur=", 1)[1]) if timing and "dur=" in timing else None
        value = None
        if data and res.getheader("Content-Type", "").startswith("application/json"):
            value = json.loads(data)
        if not 200 <= res.status < 300:
            self.failures.append(f"{method} {path}: {res.status} {data[:200]!r}")
        return res.status, value, server_ms


def block(n):
    """The n-th /24 of 10.0.0.0/8 (n modulo 65,536): VPC blocks that never overlap within a pair."""
    n %= 65536
    return f"10.{n >> 8}.{n & 255}.0/24"


def pairs_for(client, seconds, first_pair, times):
    """Runs peering set-ups for `seconds`; records server ms per kind in `times`; answers (pairs, calls)."""
    deadline = time.perf_counter() + seconds
    pair = first_pair
    calls = 0
    while time.perf_counter() < deadline:
        vpcs = []
        for n in (2 * pair, 2 * pair + 1):
            _, v, ms = client.call(
                "POST", "/v1/vpcs",
                {"name": f"bench-{n}", "region": "us-east-1", "cidr_block": block(n)},
            )
            times["create_vpc"].append(ms)
            vpcs.append(v)
        a, b = vpcs
        if a is None or b is None or "id" not in a or "id" not in b:
            return pair - first_pair + 1, calls + 2
        _, p, ms = client.call(
            "POST", "/v1/vpc-peering", {"requester_vpc_id": a["id"], "accepter_vpc_id": b["id"]}
        )
        times["create_peering"].append(ms)
        if p is None or "id" not in p:
            return pair - first_pair + 1, calls + 3
        pcx = p["id"]
        _, _, ms = client.call("POST", f"/v1/vpc-peering/{pcx}/accept", {})
        times["accept_peering"].append(ms)
        for v in (a, b):
            _, _, ms = client.call("GET", f"/v1/vpcs/{v['id']}")
            times["get_vpc"].append(ms)
        for v, other in ((a, b), (b, a)):
            _, _, ms = client.call(
                "POST", f"/v1/route-tables/{v['main_route_table_id']}/routes",
                {"destination_cidr": other["cidr_block"], "target": pcx},
            )
            times["add_route"].append(ms)
        calls += 8
        pair += 1
    return pair - first_pair, calls


def floor_for(client, seconds):
    """Calls `/healthz` for `seconds` on the same connection; answers the number of calls."""
    deadline = time.perf_counter() + seconds
    calls = 0
    while time.perf_counter() < deadline:
        client.call("GET", "/healthz", headers={})
        calls += 1
    return calls


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("base")
    ap.add_argument("key")
    ap.add_argument("--seconds", type=float, default=6.0, help="pairs and floor each get this much time in all")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--first-pair", type=int, default=0, help="start the VPC blocks further on (reruns)")
    ap.add_argument("--idempotency", action="store_true", help="send a fresh Idempotency-Key with every POST")
    args = ap.parse_args()
    client = Client(args.base, args.key, args.idempotency)
    times = {k: [] for k in WRITES + READS}
    per = args.seconds / args.rounds
    floor_calls = floor_time = work_calls = work_time = 0.0
    pair = args.first_pair
    # Warm-up: a connection, the server's caches, Python's.
    floor_for(client, 0.2)
    pair += pairs_for(client, 0.3, pair, {k: [] for k in times})[0]
    for _ in range(args.rounds):
        t = time.perf_counter()
        floor_calls += floor_for(client, per)
        floor_time += time.perf_counter() - t
        t = time.perf_counter()
        done, calls = pairs_for(client, per, pair, times)
        work_time += time.perf_counter() - t
        work_calls += calls
        pair += done
        if client.failures:
            break
    label = "with Idempotency-Key on every POST" if args.idempotency else "no Idempotency-Key"
    print(f"one client, keep-alive, {int(work_calls) // 8} pairs ({label}); server time from Server-Timing, ms:")
    print(f"  {'call':<16}{'n':>7}{'median':>9}{'p95':>9}{'mean':>9}")
    rows = [(k, times[k]) for k in WRITES + READS]
    rows.append(("writes (POST)", [m for k in WRITES for m in times[k]]))
    rows.append(("reads (GET)", [m for k in READS for m in times[k]]))
    for name, ms in rows:
        ms = [m for m in ms if m is not None]
        mean = statistics.fmean(ms) if ms else float("nan")
        print(f"  {name:<16}{len(ms):>7}{pct(ms, 0.5):>9.3f}{pct(ms, 0.95):>9.3f}{mean:>9.3f}")
    rate = work_calls / work_time if work_time else 0
    floor = floor_calls / floor_time if floor_time else 0
    print(f"client: {rate:,.0f} calls/s on the pairs; floor {floor:,.0f} calls/s on /healthz; "
          f"{rate / floor:.2f} of the floor" if floor else "no floor measured")
    if client.failures:
        print(f"{len(client.failures)} failed calls, first: {client.failures[0]}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
