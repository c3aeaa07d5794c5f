#!/usr/bin/env python3
"""Instruction counts of each benchmark operation under valgrind's callgrind.

Builds benches/instructions.rs, runs it under callgrind (each side in its own process),
and prints the inclusive instructions per call of every `tenantry_*` and `hand_*` operation with their ratio.
Usage: python3 benches/callgrind.py
"""
import json, re, subprocess, sys

N = 2000              # `n` in instructions.rs under --callgrind
READS = 2 * N         # get, list and join also run once each in the warm-up pass
INSERT_ROUNDS = 10

build = subprocess.run(
    ["cargo", "bench", "--bench", "instructions", "--no-run", "--message-format=json"],
    check=True, capture_output=True, text=True,
)
binary = next(
    json.loads(line)["executable"]
    for line in build.stdout.splitlines()
    if '"executable":"' in line and json.loads(line).get("target", {}).get("name") == "instructions"
)
# Each side in a process of its own, both at once (one per core): neither side's
# allocations shape the heap the other one measures in.
runs = {side: subprocess.Popen(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file=target/callgrind.{side}.out",
             binary, "--callgrind", "--side", side],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for side in ("tenantry", "hand")}
cost = {}
for side, run in runs.items():
    if run.wait() != 0:
        sys.exit(f"the {side} side failed under callgrind")
    annotate = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100",
                               f"target/callgrind.{side}.out"],
                              check=True, capture_output=True, text=True).stdout
    for line in annotate.splitlines():
        m = re.match(r"\s*([\d,]+)\s+\([^)]*\)\s+\S*?common::(tenantry_\w+|hand_\w+|layout_\w+)", line)
        if m:
            cost.setdefault(m.group(2), int(m.group(1).replace(",", "")))

ops = [("get_by_id", "get", READS), ("list_20_newest", "list20", READS), ("update_by_id", "update", N),
       ("join_two_tables", "join", READS), ("delete_by_id", "delete", N),
       ("insert_1000_in_transaction", "insert_1000", INSERT_ROUNDS),
       ("grouped_count", "group", READS), ("left_join", "left_join", READS),
       ("page_after_cursor", "page", READS)]
print(f"{'operation':<30}{'tenantry':>14}{'rusqlite':>14}{'ratio':>8}")
for name, op, calls in ops:
    t, h = cost.get(f"tenantry_{op}"), cost.get(f"hand_{op}")
    if t is None or h is None:
        sys.exit(f"missing callgrind data for {op}")
    print(f"{name:<30}{t // calls:>14,}{h // calls:>14,}{t / h:>8.3f}")
a, b = cost.get("layout_a_get"), cost.get("layout_b_get")
if a and b:
    # Each runs N times in the warm-up and N times measured.
    print(f"{'layout B get vs layout A get':<30}{b // (2 * N):>14,}{a // (2 * N):>14,}{b / a:>8.3f}")
many = cost.get("tenantry_insert_many_1000")
if many:
    h = cost["hand_insert_1000"]
    print(f"{'insert_many_1000 (chunked)':<30}{many // INSERT_ROUNDS:>14,}{h // INSERT_ROUNDS:>14,}{many / h:>8.3f}")
