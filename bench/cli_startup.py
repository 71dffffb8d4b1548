"""Start-up time of the ``simlab`` command line.

    python bench/cli_startup.py [-n 15]

Median wall time of N runs each of

* ``python -c pass``                            — the bare interpreter (baseline);
* ``python -c "import simlab.cli"``              — importing the CLI module;
* ``simlab --help``                             — the console script end to end;

plus, from one ``python -X importtime -c "import simlab.cli"`` run, the cumulative import time
of ``simlab.cli`` and the slowest modules it pulls in (and a check that numpy, pandas, scipy,
sklearn and simpy are *not* among them). Prints seconds and the ratio to bare Python.
Budget: ``simlab --help`` < 0.3 s. Never asserts.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

HEAVY = ("numpy", "pandas", "scipy", "sklearn", "simpy", "matplotlib", "yaml", "skops")


def median_time(cmd: list[str], n: int) -> float:
    subprocess.run(cmd, capture_output=True, check=True)  # warm the file-system cache
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def importtime(module: str) -> list[tuple[int, int, str]]:
    """(self µs, cumulative µs, module) for every import line of ``-X importtime``."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"],
                          capture_output=True, text=True, check=True)
    rows = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cum_us, name = (part.strip() for part in line[len("import time:"):].split("|"))
        rows.append((int(self_us), int(cum_us), name))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=15, help="runs per command (default 15)")
    args = ap.parse_args()

    exe = shutil.which("simlab") or os.path.join(os.path.dirname(sys.executable), "simlab")
    base = median_time([sys.executable, "-c", "pass"], args.n)
    imp = median_time([sys.executable, "-c", "import simlab.cli"], args.n)
    helps = median_time([exe, "--help"], args.n)

    print(f"median of {args.n} runs ({sys.executable})")
    for label, t in (("python -c pass", base), ("python -c 'import simlab.cli'", imp),
                     ("simlab --help", helps)):
        print(f"  {label:32s} {t:.3f} s   {t / base:.2f}x")
    print(f"simlab --help: {helps:.3f} s (budget < 0.3 s), {helps / base:.2f}x bare python")

    rows = importtime("simlab.cli")
    cli = next((cum for _, cum, name in rows if name == "simlab.cli"), None)
    total = sum(self_us for self_us, _, _ in rows)
    print(f"\n-X importtime: simlab.cli cumulative {cli / 1e6:.4f} s; all imports {total / 1e6:.4f} s "
          f"({len(rows)} modules)")
    print("  slowest imports (cumulative):")
    for self_us, cum_us, name in sorted(rows, key=lambda r: -r[1])[:8]:
        print(f"    {cum_us / 1e3:7.1f} ms  (self {self_us / 1e3:5.1f} ms)  {name.strip()}")
    heavy = sorted({name.strip().split(".")[0] for _, _, name in rows} & set(HEAVY))
    print(f"  heavy libraries imported: {', '.join(heavy) if heavy else 'none'}")


if __name__ == "__main__":
    main()
