"""Calibration of the scorer's blob-like fraction (issue 24 item 2): populations drawn from
Ringach's (2002) histogram (every phase and orientation; effcode.v1.calibration), at amplitude
SNR 3, 5 and 10 on 12x12 and 16x16 patches, scored by effcode.v1.score_population.

For each case: the true blob-like fraction of the compared units, the scorer's point estimate
and bracket [lo, hi], whether the bracket holds the truth, its width, the undetermined units,
and the coverage of the 95% profile intervals of nx and ny.  Writes
results/benchmarks/calibration_blob_fraction.{csv,json}.

Run: ``OMP_NUM_THREADS=1 python benchmarks/calibration_blob_fraction.py [--n 400] [--seeds 2]``
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

from effcode.v1.calibration import blob_fraction_calibration

OUT = Path(__file__).resolve().parents[1] / "results" / "benchmarks" / "calibration_blob_fraction"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=400, help="units per population")
    parser.add_argument("--seeds", type=int, default=2, help="populations per case")
    args = parser.parse_args()
    rows = []
    for side in (12, 16):
        for snr in (3.0, 5.0, 10.0):
            for seed in range(args.seeds):
                row = blob_fraction_calibration(args.n, (side, side), amplitude_snr=snr, random_state=seed)
                rows.append({"seed": seed, **row})
                print(" ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in rows[-1].items()),
                      flush=True)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with open(OUT.with_suffix(".csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    summary = {"description": __doc__.split("\n\n")[0], "units_per_population": args.n,
               "populations_per_case": args.seeds, "all_covered": all(r["covered"] for r in rows),
               "max_width": max(r["width"] for r in rows),
               "max_abs_point_error": max(abs(r["point_error"]) for r in rows), "rows": rows}
    OUT.with_suffix(".json").write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
