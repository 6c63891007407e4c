"""Offline OSV throughput: load a large synthetic advisory folder (advisory-database layout, JSON and
YAML) and match many pins against it. Prints measured figures; nothing is asserted.

    python benchmarks/dependencies_offline_match.py [--records 20000] [--packages 4000] [--pins 1000]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
import time
from pathlib import Path

from checks.dependencies import osv


def build(root: Path, records: int, packages: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    for number in range(records):
        name = f"bench-pkg-{rng.randrange(packages)}"
        major = rng.randrange(1, 6)
        events = [{"introduced": "0"}, {"fixed": f"{major}.{rng.randrange(10)}.{rng.randrange(10)}"}]
        if rng.random() < 0.3:
            events += [{"introduced": f"{major + 1}.0"}, {"last_affected": f"{major + 1}.{rng.randrange(5)}"}]
        record = {"id": f"PYSEC-2099-{number}", "aliases": [f"CVE-2099-{number}"], "summary": "synthetic",
                  "affected": [{"package": {"ecosystem": "PyPI", "name": name},
                                "ranges": [{"type": "ECOSYSTEM", "events": events}],
                                "versions": [f"{major}.0.{i}" for i in range(rng.randrange(0, 20))]}],
                  "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]}
        folder = root / "vulns" / name
        folder.mkdir(parents=True, exist_ok=True)
        if number % 2:
            (folder / f"PYSEC-2099-{number}.json").write_text(json.dumps(record))
        else:
            import yaml

            (folder / f"PYSEC-2099-{number}.yaml").write_text(yaml.safe_dump(record))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--packages", type=int, default=4_000)
    parser.add_argument("--pins", type=int, default=1_000)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="osv-bench-"))
    try:
        began = time.perf_counter()
        build(root, args.records, args.packages)
        print(f"built {args.records} records for {args.packages} packages in {time.perf_counter() - began:.1f} s")
        began = time.perf_counter()
        db = osv.load(root)
        load_s = time.perf_counter() - began
        print(f"load: {db.records} records from {db.files} files in {load_s:.2f} s "
              f"({db.files / load_s:.0f} files/s), {len(db.malformed)} malformed")
        wanted = {f"bench-pkg-{n}" for n in random.Random(3).sample(range(args.packages), 30)}
        began = time.perf_counter()
        keyed = osv.load(root, keys=wanted)
        keyed_s = time.perf_counter() - began
        print(f"load for an app of {len(wanted)} dependencies (name prefilter): {keyed.records} records parsed, "
              f"{keyed.unrelated} skipped, in {keyed_s:.2f} s ({keyed.files / keyed_s:.0f} files/s)")
        rng = random.Random(11)
        pins = [(f"bench-pkg-{rng.randrange(args.packages)}",
                 f"{rng.randrange(1, 7)}.{rng.randrange(10)}.{rng.randrange(10)}") for _ in range(args.pins)]
        began = time.perf_counter()
        hits = sum(1 for name, version in pins if osv.match(db, name, version))
        match_s = time.perf_counter() - began
        print(f"match: {len(pins)} pins in {match_s * 1000:.1f} ms ({len(pins) / match_s:.0f} pins/s), "
              f"{hits} vulnerable")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
