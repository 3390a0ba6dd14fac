"""The start bench (bench/start.sh): `run --rm busybox /bin/true` against the floor, crun, runc and podman,
the CPU share under --cpus, and where layerctl's time goes."""
import os
import re


def fmt_ms(s):
    ms = s * 1000
    return f"{ms:.0f} ms" if ms >= 100 else f"{ms:.1f} ms"


def x(r, base):
    return f"{r['median'] / base['median']:.2f}x" if r and base else "-"


def report(rep):
    res = {t: rep.load(t) for t in ("ns", "host", "diag")}
    find = lambda t, key: next((r for n, r in res[t].items() if n.startswith(key)), None)  # noqa: E731
    # crun runs under layerctl's capabilities and seccomp profile: like with like
    floor, crun, pod = find("ns", "floor"), res["ns"].get("crun run"), find("ns", "podman")

    def row(name, r, fl, extra=""):
        if not r:
            return f"  {name:<34} {'(not measured)':>10}"
        rng = f"{r['min'] * 1000:.1f}-{r['max'] * 1000:.1f}"
        return (f"  {name:<34} {fmt_ms(r['median']):>9}  {rng:>13}  {len(r['times']):>3}  {x(r, fl):>8}  "
                f"{x(r, crun):>8}  {x(r, pod):>8}  {extra}")
    hdr = (f"  {'command':<34} {'median':>9}  {'min-max ms':>13}  {'n':>3}  {'x floor':>8}  {'x crun':>8}  "
           f"{'x podman':>8}")

    print("Container start latency: /bin/true in busybox (bench/start.sh)")
    rep.notes()
    print("\n1. Inside one private mount namespace with /sys/fs/cgroup/unified unmounted (crun 1.8 refuses hybrid")
    print("   cgroups), one hyperfine -N invocation" + (" (interleaved rounds)" if (rep.json("ns.json") or {}).get("interleaved_rounds") else ""))
    print(hdr)
    for name in ("floor: unshare+chroot", "crun run", "crun run, no seccomp", "runc run", "podman run --rm"):
        print(row(name, res["ns"].get(name), floor))
    lc = find("ns", "layerctl")
    print(row("layerctl run --rm", lc, floor))
    print("   crun and runc run with Docker's capabilities and the default seccomp profile, as layerctl does;"
          " 'no seccomp' is umoci's config as is")
    for what, peer, limit in (("crun", crun, 1.0), ("podman", pod, 0.1)):
        v = lc["median"] / peer["median"] if lc and peer else None
        rep.le(f"run --rm /bin/true <= {limit}x {what} (table 1, same seccomp profile)", v, limit,
               lambda r: f"{r:.2f}x")
    print("\n2. Host conditions (normal mount namespace, hybrid cgroups), a second hyperfine -N invocation")
    print(hdr.replace("x floor", "x floor*").replace("x crun", "x crun†").replace("x podman", "x podman†"))
    floorh = find("host", "floor")
    print(row("floor: unshare+chroot (host)", floorh, floorh))
    print(row("runc run (host)", find("host", "runc"), floorh))
    print(row("layerctl run --rm (host)", find("host", "layerctl"), floorh))
    print("   * vs the host floor of this table; † vs crun/podman of table 1 (crun cannot run on the hybrid host)")
    cpushare(rep)
    diagnostics(rep, res["diag"], find)
    commands(rep)


def cpushare(rep):
    cpu = [c for c in (rep.json(f"cpu-{c}.json") for c in ("host", "ns")) if c]
    if not cpu:
        return
    print("\n3. CPU share of a busy loop under `layerctl run --rm --cpus 0.2` (target 0.15-0.25 of one core)")
    print(f"  {'where':<6} {'cgroup share':>12} {'loop /proc share':>16} {'tree cpu/wall':>13} "
          f"{'quota/period':>13} {'throttled':>14} {'wall':>7}")
    for c in cpu:
        if c.get("cg_share") is None:
            print(f"  {c['ctx']:<6} FAILED: {c.get('error')} (exit {c.get('rc')}, {c.get('wall_s', 0):.2f} s; "
                  f"stderr: {c.get('stderr', '').strip()[-160:]!r})")
            rep.target(None, f"cpu share ({c['ctx']}) in 0.15-0.25: not measured")
            continue
        rep.target(0.15 <= c["cg_share"] <= 0.25, f"cpu share ({c['ctx']}) in 0.15-0.25: {c['cg_share']:.3f}")
        qp = f"{c.get('quota_us')}/{c.get('period_us')}"
        thr = f"{c.get('nr_throttled')}/{c.get('nr_periods')} per"
        ls = f"{c['loop_share']:.3f}" if c.get("loop_share") is not None else "-"
        ts_ = f"{c['tree_share']:.3f}" if c.get("tree_share") is not None else "-"
        print(f"  {c['ctx']:<6} {c['cg_share']:>12.3f} {ls:>16} {ts_:>13} {qp:>13} {thr:>14} {c['wall_s']:>6.2f}s"
              + (f"  ERROR: {c['error']}" if c.get("error") else ""))
    win = next((c["window_s"] for c in cpu if c.get("window_s")), 0)
    print(f"   cgroup share = delta cpuacct.usage / wall over the loop's steady {win:.1f} s window; "
          "loop = utime+stime of the loop's /proc/PID/stat over the same window;")
    print("   tree = rusage (user+sys) of the whole `layerctl run` process tree / its wall time (start-up and exit included)")
    print(f"   load: {', '.join(c['ctx'] + ' ' + ' '.join(c['load_before']) + ' -> ' + ' '.join(c['load_after']) for c in cpu)}")


def diagnostics(rep, diag, find):
    ph = rep.json("phases.json")
    if not diag and not (ph and ph.get("runs")):
        return
    print("\n4. Where layerctl's time goes (diagnostics, in the namespace of table 1)")
    if diag:
        b = find("diag", "layerctl run --rm busybox")
        print("  hyperfine -N, same namespace (one layerctl process start = the `--help` row; `run` starts two:")
        print("  layerctl, then layerctl-init, the init step's own program, in the new namespaces):")
        for n, r in diag.items():
            print(f"  {n:<44} median {fmt_ms(r['median']):>9}  ({r['min'] * 1000:.1f}-{r['max'] * 1000:.1f} ms, "
                  f"user {r['user'] * 1000:.1f} ms, sys {r['system'] * 1000:.1f} ms)" +
                  (f"  {r['median'] / b['median']:.2f}x busybox" if b and r is not b else ""))
        hello = diag.get("go hello world (same build flags)")
        for cmd in ("layerctl ps", "layerctl images"):
            r = diag.get(cmd)
            rep.le(f"{cmd} <= 2x a Go hello world (diagnostics table)",
                   r["median"] / hello["median"] if r and hello else None, 2.0, lambda v: f"{v:.2f}x")
    inittrace(rep)
    if ph and ph.get("runs"):
        print(f"  phases of `layerctl run --rm busybox /bin/true` under strace -f --seccomp-bpf (median of {ph['runs']} "
              f"traced runs; total {ph['total_ms']:.1f} ms traced):")
        for n, v in ph["phases"]:
            print(f"    {n:<70} {('%.1f ms' % v) if v is not None else 'n/a':>9}")
        for n, v in ph.get("beside") or []:
            print(f"      {n:<68} {('%.1f ms' % v) if v is not None else 'n/a':>9}")
        print(f"    fsync: {ph['fsync_n']:.0f} calls, {ph['fsync_ms']:.1f} ms (max {ph['fsync_max_ms']:.1f} ms; per run "
              f"{ph['fsync_ms_all']}); overlay mount {ph['overlay_mount_ms']:.1f} ms; umount2 {ph['umount2_n']:.0f} calls "
              f"{ph['umount2_ms']:.1f} ms")
        if ph.get("cgprocs_n"):
            print(f"    cgroup.procs writes (child into its cgroups, the child waits): {ph['cgprocs_n']:.0f} calls, "
                  f"{ph['cgprocs_ms']:.1f} ms; slowest per run {ph['cgprocs_max_ms_all']} ms")
        if ph.get("trash_unlinks"):
            print(f"    the last run's container dir deleted from trash/ beside this start (not on its path): "
                  f"{ph['trash_unlinks']:.0f} unlinkat calls over {ph['trash_ms']:.1f} ms")
        if ph.get("freeze_thaw_ms") is not None:
            print(f"    teardown freeze/thaw of the (empty) container cgroup (cgroup Kill): {ph['freeze_thaw_ms']:.1f} ms")
        cr = ph.get("crun") or {}
        if cr.get("runs"):
            print(f"    crun run under the same strace ({cr['runs']} runs): total {cr['total_ms']:.1f} ms; fsync "
                  f"{cr['fsync_n']:.0f} calls; cgroup.procs writes {cr['cgprocs_n']:.0f} calls {cr['cgprocs_ms']:.1f} ms, "
                  f"slowest per run {cr['cgprocs_max_ms_all']} ms")
    sc = rep.path("strace-c.txt")
    if os.path.exists(sc):
        skip = ("futex", "nanosleep", "epoll_pwait", "epoll_wait", "sched_yield", "tgkill", "getpid", "gettid",
                "waitid", "wait4", "rt_sigreturn", "rt_sigprocmask", "rt_sigaction", "total")
        top = [l for l in open(sc).read().splitlines() if re.match(r"^\s*\d", l) and l.split()[-1] not in skip][:8]
        if top:
            print("  strace -f -c (one run, all threads; without the Go runtime's futex/nanosleep/epoll/signals and the")
            print("  waits for the child; the full table is in strace-c.txt):")
            print("    % time     seconds  usecs/call     calls    errors syscall")
            for l in top:
                print("   " + l)


def inittrace(rep):
    """Package initialisation of one layerctl process (GODEBUG=inittrace=1 of `layerctl --help`, 5 runs)."""
    per, runs = {}, 0
    for l in rep.lines("inittrace.txt"):
        f = l.split()  # init PKG @T ms, CLOCK ms clock, ...
        if len(f) > 4 and f[0] == "init":
            per.setdefault(f[1], []).append(float(f[4]))
            runs = max(runs, len(per[f[1]]))
    if not per:
        return
    mean = {k: sum(v) / runs for k, v in per.items()}
    top = sorted(mean.items(), key=lambda kv: -kv[1])[:8]
    print(f"  package initialisation before main (GODEBUG=inittrace=1, mean of {runs} runs of --help): "
          f"{sum(mean.values()):.1f} ms in {len(mean)} packages; the most:")
    print("    " + ", ".join(f"{k.split('/')[-1] if k.count('/') > 2 else k} {v:.2f}" for k, v in top) + " (ms)")


def commands(rep):
    print("\nCommands (exact, as timed):")
    for table, title in (("ns", "table 1, run as: nsenter -t HOLDER -m -- hyperfine ..."), ("host", "table 2"),
                         ("diag", "diagnostics")):
        c = [l.partition("\t") for l in rep.lines(f"{table}.cmds")]
        if c:
            print(f"  [{title}]")
            for n, _, cmd in c:
                print(f"    {n}: {cmd}")
    for c in (rep.json(f"cpu-{w}.json") for w in ("host", "ns")):
        if c:
            print(f"  [cpu {c['ctx']}] " + " ".join(a if re.match(r"^[\w./:=@%+,-]+$", a) else "'" + a.replace("'", "'\\''") + "'"
                                                    for a in c["cmd"]))
