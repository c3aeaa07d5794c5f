#!/usr/bin/env python3
"""Ratios of a criterion run: tenantry / hand-written rusqlite, per operation.

Usage: cargo bench --bench ops && python3 benches/ratios.py
"""
import json, pathlib

root = pathlib.Path("target/criterion")
print(f"{'operation':<30}{'tenantry':>12}{'rusqlite':>12}{'ratio':>8}")
for group in sorted(p for p in root.iterdir() if (p / "rusqlite").is_dir()):
    base = json.loads((group / "rusqlite/new/estimates.json").read_text())["median"]["point_estimate"]
    for side in sorted(p for p in group.iterdir() if p.name.startswith("tenantry")):
        t = json.loads((side / "new/estimates.json").read_text())["median"]["point_estimate"]
        label = group.name if side.name == "tenantry" else f"{group.name} ({side.name})"
        print(f"{label:<30}{t / 1000:>10.2f}us{base / 1000:>10.2f}us{t / base:>8.3f}")
