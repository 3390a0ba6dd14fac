"""The one report generator of bench/: the summary of a benchmark's results dir, on stdout.

usage: python3 bench/report pull RESULTS_DIR [RUNS] [WARM_RUNS]
       python3 bench/report containers|commit|start|explore RESULTS_DIR
Every figure is from the same run: peers are timed beside layerctl, none is written in here.
Exits 3 when BENCH_STRICT=1 and a target was missed or not measured.
"""
import sys

from common import Report

import containers
import explore
import pull
import start

SECTIONS = {"pull": pull.report, "containers": containers.containers, "commit": containers.commit,
            "start": start.report, "explore": explore.report}


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in SECTIONS:
        print(__doc__, file=sys.stderr)
        return 2
    rep = Report(sys.argv[2])
    SECTIONS[sys.argv[1]](rep, *sys.argv[3:])
    return rep.finish()


if __name__ == "__main__":
    sys.exit(main())
