"""The explore bench (bench/explore.sh): explore --format json and history against their targets."""
import statistics

from common import fmt, med
from containers import footer, header, table


def report(rep):
    header(rep, "explore")
    res = rep.load("explore")
    J1, J10, H = "explore --format json debian", "explore --format json debian-10layer", "history debian-10layer"
    table("explore and history on debian:bookworm and debian-10layer:bookworm", res, [J1, J10, H])
    rep.le("explore --format json debian:bookworm", med(res, J1), 0.150, fmt)
    rep.le("explore --format json debian-10layer:bookworm", med(res, J10), 0.250, fmt)
    rep.le("history debian-10layer:bookworm", med(res, H), 0.250, fmt)
    tui = (rep.json("tui.json") or {}).get("times")
    first = statistics.median(tui) if tui else None
    print(f"\n  explore TUI first screen, debian-10layer (tmux, polled every 5 ms): median {fmt(first)}"
          + (f" (min {fmt(min(tui))}, max {fmt(max(tui))}, n={len(tui)})" if tui else ""))
    rep.le("explore TUI first screen, debian-10layer:bookworm", first, 0.300, fmt)
    footer(rep)
