#!/usr/bin/env python3
"""Estate-scale `peerplan check` benchmark (issue: performance at estate scale).

Writes an AWS `describe-vpcs` file of 80,096 VPCs (100,000 IPv4 + IPv6 blocks, thousands of overlapping VPC pairs:
the kind of estate a large organisation exports), then times, side by side in one run:
  - a straightforward Python script (json + ipaddress + a sorted sweep) that finds the overlapping VPC pairs, and
  - `peerplan check FOLDER --format json` (import, every check, the renumbering suggestions),
each several times, and prints medians, the ratio, the pair counts (they must agree) and peerplan's peak memory.

Usage: scripts/bench-check.py PEERPLAN_BINARY [--runs 5] [--vpcs 80096]
"""
import argparse
import ipaddress
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time


def estate(n_vpcs: int, seed: int = 7) -> dict:
    """Deterministic estate: mostly distinct /16–/24 blocks in the private pools, some VPCs with a secondary block
    or an IPv6 /56, and a fraction reusing a block already taken (the overlaps)."""
    rng = random.Random(seed)
    # Distinct /24s from the private pools, in a shuffled order; about one VPC in six reuses a block already in
    # use (the overlaps a large estate accumulates).
    fresh = [0x0A000000 | (k << 8) for k in range(1 << 16)] + [0xAC100000 | (k << 8) for k in range(1 << 12)]
    rng.shuffle(fresh)
    secondary = [0x64400000 | (k << 8) for k in range(1 << 14)]
    rng.shuffle(secondary)
    vpcs = []
    taken = []
    for i in range(n_vpcs):
        if taken and rng.random() < 0.17:
            primary = rng.choice(taken)
        else:
            primary = str(ipaddress.ip_network((fresh.pop(), 24)))
            taken.append(primary)
        assoc = [{"CidrBlock": primary, "CidrBlockState": {"State": "associated"}}]
        if rng.random() < 0.12:
            sec = str(ipaddress.ip_network((secondary.pop(), 24)))
            assoc.append({"CidrBlock": sec, "CidrBlockState": {"State": "associated"}})
        v6 = []
        if rng.random() < 0.13:
            v6 = [{"Ipv6CidrBlock": str(ipaddress.ip_network(((0x2600_1F18 << 96) | (i << 72), 56))),
                   "Ipv6CidrBlockState": {"State": "associated"}}]
        vpcs.append({
            "CidrBlock": primary,
            "State": "available",
            "VpcId": f"vpc-{i:017x}",
            "OwnerId": "111122223333",
            "CidrBlockAssociationSet": assoc,
            "Ipv6CidrBlockAssociationSet": v6,
            "IsDefault": False,
            "Tags": [{"Key": "Name", "Value": f"estate-{i}"}],
        })
    return {"Vpcs": vpcs}


def python_overlaps(path: str) -> int:
    """The baseline: every block with its VPC, sorted by (family, start, -end); a sweep keeps the open blocks."""
    with open(path) as f:
        doc = json.load(f)
    blocks = []
    for v in doc["Vpcs"]:
        for a in v.get("CidrBlockAssociationSet", []):
            n = ipaddress.ip_network(a["CidrBlock"])
            blocks.append((4, int(n.network_address), int(n.broadcast_address), v["VpcId"]))
        for a in v.get("Ipv6CidrBlockAssociationSet", []):
            n = ipaddress.ip_network(a["Ipv6CidrBlock"])
            blocks.append((6, int(n.network_address), int(n.broadcast_address), v["VpcId"]))
    blocks.sort(key=lambda b: (b[0], b[1], -b[2]))
    pairs = set()
    stack = []
    for fam, start, end, vpc in blocks:
        while stack and (stack[-1][0] != fam or stack[-1][1] < start):
            stack.pop()
        for _, _, other in stack:
            if other != vpc:
                pairs.add((min(other, vpc), max(other, vpc)))
        stack.append((fam, end, vpc))
    return len(pairs)


# Runs each peerplan check for main() and reports its exit code, wall time and peak RSS. It is started before this
# script builds the estate: Linux counts a child's memory from before its exec (the process it was forked from), so
# peerplan forked from this process, holding the estate, would be charged this process's few hundred MiB.
LAUNCHER = r"""
import json, os, subprocess, sys, time
for line in sys.stdin:
    args, out_path = json.loads(line)
    with open(out_path, "w") as out, open(out_path + ".err", "w") as err:
        t = time.perf_counter()
        p = subprocess.Popen(args, stdout=out, stderr=err)
        _, status, usage = os.wait4(p.pid, 0)
        elapsed = time.perf_counter() - t
        p.returncode = os.waitstatus_to_exitcode(status)
    print(json.dumps([p.returncode, elapsed, usage.ru_maxrss]), flush=True)
"""


def main() -> int:
    launcher = subprocess.Popen([sys.executable, "-c", LAUNCHER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                text=True)
    ap = argparse.ArgumentParser()
    ap.add_argument("peerplan")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--vpcs", type=int, default=80096)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        folder = os.path.join(d, "111122223333", "us-east-1")
        os.makedirs(folder)
        path = os.path.join(folder, "vpcs.json")
        doc = estate(args.vpcs)
        with open(path, "w") as f:
            json.dump(doc, f)
        n_blocks = sum(len(v["CidrBlockAssociationSet"]) + len(v["Ipv6CidrBlockAssociationSet"]) for v in doc["Vpcs"])
        print(f"estate: {len(doc['Vpcs'])} VPCs, {n_blocks} blocks, {os.path.getsize(path) / 2**20:.1f} MiB")
        py_times, pp_times = [], []
        py_pairs = pp_pairs = None
        peak_kib = 0
        for _ in range(args.runs):
            t = time.perf_counter()
            py_pairs = python_overlaps(path)
            py_times.append(time.perf_counter() - t)
            out_path = os.path.join(d, "check-output")
            launcher.stdin.write(json.dumps([[args.peerplan, "check", d, "--format", "json"], out_path]) + "\n")
            launcher.stdin.flush()
            code, elapsed, maxrss_kib = json.loads(launcher.stdout.readline())
            pp_times.append(elapsed)
            if code not in (0, 1):
                with open(out_path + ".err") as f:
                    print(f.read(), file=sys.stderr)
                return 2
            peak_kib = max(peak_kib, maxrss_kib)
            with open(out_path) as f:
                diags = json.load(f)["diagnostics"]
            pp_pairs = sum(1 for x in diags if x["code"] == "CIDR_OVERLAP")
            suggested = [x.get("fix", "") for x in diags if x["code"] == "CIDR_OVERLAP"]
        py, pp = statistics.median(py_times), statistics.median(pp_times)
        print(f"python (json + ipaddress + sweep): median {py * 1000:.0f} ms, {py_pairs} overlapping VPC pairs")
        print(f"peerplan check:                    median {pp * 1000:.0f} ms, {pp_pairs} CIDR_OVERLAP findings, "
              f"peak RSS {peak_kib / 1024:.0f} MiB")
        print(f"ratio: peerplan is {py / pp:.1f}x faster ({args.runs} runs each, interleaved)")
        with_fix = sum(1 for s in suggested if "free block" in s)
        print(f"renumbering suggestions: {with_fix} of {len(suggested)} findings")
        if py_pairs != pp_pairs:
            print("MISMATCH: the pair counts differ", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
