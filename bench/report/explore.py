"""The explore bench (bench/explore.sh): explore --format json and history against their targets."""
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
    footer(rep)
