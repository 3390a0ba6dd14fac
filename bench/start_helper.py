#!/usr/bin/env python3
"""Helpers of bench/start.sh (start latency and CPU share of `layerctl run`); its summary is bench/report's.

  start_helper.py tinyelf OUT                 129-byte static x86-64 ELF that exits 0 (the "tiny" image's /true)
  start_helper.py bundle CONFIG.json [PLAIN.json ROOTFS]  args=["/bin/true"], no terminal, Docker's capabilities and
                                              seccomp profile; PLAIN.json: umoci's config as is (no filter) for ROOTFS
  start_helper.py merge OUT NAMES_FILE J...   merge interleaved hyperfine --runs 1 exports into one export
  start_helper.py cpushare OUT.json [opts]    run a busy loop under --cpus and measure its CPU share
  start_helper.py phases OUT.json TRACE...    phases of `layerctl run` from `strace -f -ttt -T` traces
"""
import json
import os
import re
import signal
import statistics
import struct
import subprocess
import sys
import time

# ---------------------------------------------------------------- small commands
def tinyelf(out):
    code = bytes([0x31, 0xFF, 0xB8, 0x3C, 0, 0, 0, 0x0F, 0x05])  # xor edi,edi; mov eax,60 (exit); syscall
    base = 0x400000
    entry = base + 64 + 56
    ehdr = b"\x7fELF" + bytes([2, 1, 1, 0]) + b"\0" * 8 + struct.pack(
        "<HHIQQQIHHHHHH", 2, 0x3E, 1, entry, 64, 0, 0, 64, 56, 1, 0, 0, 0)
    size = 64 + 56 + len(code)
    phdr = struct.pack("<IIQQQQQQ", 1, 5, 0, base, base, size, size, 0x1000)
    with open(out, "wb") as f:
        f.write(ehdr + phdr + code)
    os.chmod(out, 0o755)


# Docker's default capability set, which layerctl's containers get (pkg/ns/caps_linux.go)
DOCKER_CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
               "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
               "CAP_AUDIT_WRITE"]
# the default seccomp profile podman hands crun (containers-common), Docker's profile in its own file
PROFILE = "/usr/share/containers/seccomp.json"
ARCH = {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)


def oci_seccomp(profile, caps):
    """The OCI runtime-spec form of a Docker-format seccomp profile for this architecture and these
    capabilities, as podman and Docker resolve it (includes/excludes by arch and caps)."""
    p = json.load(open(profile))
    arches = []
    for m in p.get("archMap") or []:
        if m["architecture"] == {"amd64": "SCMP_ARCH_X86_64", "arm64": "SCMP_ARCH_AARCH64"}.get(ARCH):
            arches = [m["architecture"]] + m.get("subArchitectures", [])
    out = []
    for sc in p["syscalls"]:
        inc, exc = sc.get("includes") or {}, sc.get("excludes") or {}
        if inc.get("arches") and ARCH not in inc["arches"] or exc.get("arches") and ARCH in exc["arches"]:
            continue
        if any(c not in caps for c in inc.get("caps") or []) or any(c in caps for c in exc.get("caps") or []):
            continue
        rule = {"names": sc["names"], "action": sc["action"]}
        for k in ("args", "errnoRet"):
            if sc.get(k):
                rule[k] = sc[k]
        out.append(rule)
    spec = {"defaultAction": p["defaultAction"], "architectures": arches, "syscalls": out}
    if p.get("defaultErrnoRet") is not None:
        spec["defaultErrnoRet"] = p["defaultErrnoRet"]
    return spec


def bundle(path, plain_to=None, rootfs=None):
    """/bin/true without a terminal, under what layerctl's containers get: Docker's capabilities and the
    default seccomp profile. With plain_to, also umoci's config as it is (three capabilities, no seccomp
    filter) written there, for rootfs: the reference row of what the filter costs crun."""
    c = json.load(open(path))
    c["process"]["terminal"] = False
    c["process"]["args"] = ["/bin/true"]
    if plain_to:
        c["root"]["path"] = rootfs
        json.dump(c, open(plain_to, "w"), indent=1)
        c["root"]["path"] = "rootfs"
    c["process"]["capabilities"] = {k: list(DOCKER_CAPS) for k in ("bounding", "effective", "permitted")}
    c["linux"]["seccomp"] = oci_seccomp(PROFILE, DOCKER_CAPS)
    json.dump(c, open(path, "w"), indent=1)


def merge(out, names_file, files):
    order = [l.rstrip("\n") for l in open(names_file) if l.strip()]
    merged = {}
    for f in files:
        for r in json.load(open(f))["results"]:
            m = merged.setdefault(r["command"], {"times": [], "exit_codes": [], "u": [], "s": []})
            m["times"] += r["times"]
            m["exit_codes"] += r.get("exit_codes") or [0] * len(r["times"])
            m["u"].append(r["user"])
            m["s"].append(r["system"])
    res = []
    for n in order:
        if n not in merged:
            continue
        m = merged[n]
        t = m["times"]
        res.append({"command": n, "mean": statistics.mean(t), "stddev": statistics.stdev(t) if len(t) > 1 else None,
                    "median": statistics.median(t), "user": statistics.mean(m["u"]), "system": statistics.mean(m["s"]),
                    "min": min(t), "max": max(t), "times": t, "exit_codes": m["exit_codes"]})
    json.dump({"results": res, "interleaved_rounds": len(files)}, open(out, "w"), indent=2)


# ---------------------------------------------------------------- CPU share of a busy loop under --cpus
def cgroup_mounts():
    """v1 controller -> mount point, and the cgroup2 mount point (or None), from this process's view."""
    v1, v2 = {}, None
    for line in open("/proc/self/mountinfo"):
        pre, _, post = line.partition(" - ")
        fields, post = pre.split(), post.split()
        if not post:
            continue
        if post[0] == "cgroup2":
            if fields[4] == "/sys/fs/cgroup" or v2 is None:
                v2 = fields[4]
        elif post[0] == "cgroup":
            for opt in post[2].split(","):
                if opt in ("cpu", "cpuacct", "memory", "pids", "freezer"):
                    v1[opt] = fields[4]
    return v1, v2


def proc_cgroups(pid):
    """controller -> path for a process ('' key: the v2 path)."""
    out = {}
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            for c in ctrls.split(",") if ctrls else [""]:
                out[c] = path
    return out


def children(pid):
    kids = []
    try:
        for t in os.listdir(f"/proc/{pid}/task"):
            try:
                kids += [int(x) for x in open(f"/proc/{pid}/task/{t}/children").read().split()]
            except OSError:
                pass
    except OSError:
        pass
    return kids


def read_int(p):
    with open(p) as f:
        return int(f.read().split()[0])


def read_keyed(p):
    d = {}
    try:
        for line in open(p):
            k, _, v = line.partition(" ")
            d[k] = int(v)
    except (OSError, ValueError):
        pass
    return d


def proc_cpu_ticks(pid):
    s = open(f"/proc/{pid}/stat").read()
    rest = s[s.rindex(")") + 2:].split()
    return int(rest[11]) + int(rest[12]), rest[0]  # utime+stime (ticks), state


def cpushare(out, argv):
    import argparse
    ap = argparse.ArgumentParser(prog="start_helper.py cpushare")
    ap.add_argument("--layerctl", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--image", default="busybox")
    ap.add_argument("--name", required=True)
    ap.add_argument("--cpus", default="0.2")
    ap.add_argument("--secs", type=int, default=5)
    ap.add_argument("--ctx", default="host")
    ap.add_argument("--nsenter", default="", help="PID of a process in the mount namespace to run in")
    a = ap.parse_args(argv)
    secs = max(a.secs, 2)
    prefix = ["nsenter", "-t", a.nsenter, "-m", "--"] if a.nsenter else []
    loop = f'timeout {secs} sh -c "while :; do :; done"; echo loop-exit=$?'
    lc = [a.layerctl, "--root", a.root]
    cmd = prefix + lc + ["run", "--rm", "--name", a.name, "--cpus", a.cpus, a.image, "sh", "-c", loop]
    res = {"ctx": a.ctx, "cpus": float(a.cpus), "secs": secs, "cmd": cmd, "ok": False, "error": None,
           "load_before": open("/proc/loadavg").read().split()[:3]}
    odir = os.path.dirname(os.path.abspath(out))
    fo = open(os.path.join(odir, f"cpu-{a.ctx}.stdout"), "w+")
    fe = open(os.path.join(odir, f"cpu-{a.ctx}.stderr"), "w+")
    clk = os.sysconf("SC_CLK_TCK")
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=fo, stderr=fe, stdin=subprocess.DEVNULL)
    status = rusage = None
    t_end = None
    ended = False

    def poll_exit():
        nonlocal status, rusage, t_end, ended
        if ended:
            return True
        pid, st, ru = os.wait4(p.pid, os.WNOHANG)
        if pid == p.pid:
            status, rusage, t_end, ended = st, ru, time.monotonic(), True
            p.returncode = os.waitstatus_to_exitcode(st)
        return ended

    def sleep_until(t):
        while time.monotonic() < t:
            if poll_exit():
                return False
            time.sleep(min(0.05, max(0.0, t - time.monotonic())))
        return True

    try:
        v1, v2 = cgroup_mounts()
        # the container's first process: a child of layerctl that sits in a .../layerctl/<id> cgroup
        init = cg = None
        deadline = t0 + 10
        while time.monotonic() < deadline and not poll_exit():
            for c in children(p.pid):
                try:
                    cgs = proc_cgroups(c)
                except OSError:
                    continue
                key = "cpuacct" if "cpuacct" in cgs and "/layerctl/" in cgs["cpuacct"] else ""
                if "/layerctl/" in cgs.get(key, ""):
                    init, cg = c, cgs
                    break
            if init:
                break
            time.sleep(0.01)
        if not init:
            raise RuntimeError("no container process in a layerctl cgroup appeared within 10 s"
                               if not ended else "layerctl run ended before its container was seen")
        t_found = time.monotonic()
        if "cpuacct" in cg and "cpuacct" in v1:
            mode = "v1"
            acct = v1["cpuacct"] + cg["cpuacct"]
            cpudir = v1.get("cpu", "") + cg.get("cpu", "")

            def usage():
                return read_int(acct + "/cpuacct.usage") / 1e9
            quota = read_int(cpudir + "/cpu.cfs_quota_us") if os.path.exists(cpudir + "/cpu.cfs_quota_us") else None
            period = read_int(cpudir + "/cpu.cfs_period_us") if os.path.exists(cpudir + "/cpu.cfs_period_us") else None
            statf = cpudir + "/cpu.stat"
            procs = acct + "/cgroup.procs"
        else:
            mode = "v2"
            acct = (v2 or "/sys/fs/cgroup") + cg[""]
            cpudir = acct

            def usage():
                return read_keyed(acct + "/cpu.stat")["usage_usec"] / 1e6
            mx = open(acct + "/cpu.max").read().split()
            quota = None if mx[0] == "max" else int(mx[0])
            period = int(mx[1])
            statf = acct + "/cpu.stat"
            procs = acct + "/cgroup.procs"
        res.update({"cgroup_mode": mode, "cgroup": acct, "cpu_cgroup": cpudir, "quota_us": quota, "period_us": period})
        # steady window: from 0.5 s after the start to 0.5 s before timeout ends the loop
        ws, we = t_found + 0.5, t_found + secs - 0.5
        if not sleep_until(ws):
            raise RuntimeError(f"layerctl run ended {time.monotonic() - t0:.2f} s after start, before the measuring window")
        u0, tw0 = usage(), time.monotonic()
        st0 = read_keyed(statf)
        pt0 = {}
        for pid in open(procs).read().split():
            try:
                pt0[int(pid)] = proc_cpu_ticks(int(pid))[0]
            except OSError:
                pass
        if not sleep_until(we):
            raise RuntimeError(f"layerctl run ended {time.monotonic() - t0:.2f} s after start, inside the measuring window")
        u1, tw1 = usage(), time.monotonic()
        st1 = read_keyed(statf)
        best = None
        for pid, t in pt0.items():
            try:
                d = proc_cpu_ticks(pid)[0] - t
            except OSError:
                continue
            if best is None or d > best[1]:
                best = (pid, d)
        win = tw1 - tw0
        res.update({"window_s": win, "cg_share": (u1 - u0) / win,
                    "loop_pid": best[0] if best else None,
                    "loop_share": best[1] / clk / win if best else None,
                    "nr_periods": st1.get("nr_periods", 0) - st0.get("nr_periods", 0),
                    "nr_throttled": st1.get("nr_throttled", 0) - st0.get("nr_throttled", 0),
                    "throttled_ms": (st1.get("throttled_time", 0) - st0.get("throttled_time", 0)) / 1e6
                    if "throttled_time" in st1 else (st1.get("throttled_usec", 0) - st0.get("throttled_usec", 0)) / 1e3})
        # the loop ends after `secs`; layerctl must then end on its own
        if sleep_until(t0 + secs + 20):
            raise RuntimeError(f"layerctl run did not end {secs + 20} s after start (the loop should end after {secs} s)")
    except Exception as e:  # noqa: BLE001 - reported in the JSON
        res["error"] = str(e)
    finally:
        if not ended:
            # stop it: rm -f the container (kills its processes), then the layerctl process we started
            subprocess.run(prefix + lc + ["rm", "-f", a.name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           timeout=30)
            for _ in range(50):
                if poll_exit():
                    break
                time.sleep(0.1)
            if not ended:
                os.kill(p.pid, signal.SIGKILL)
                _, status, rusage = os.wait4(p.pid, 0)
                t_end, ended = time.monotonic(), True
                p.returncode = os.waitstatus_to_exitcode(status)
    fo.seek(0)
    fe.seek(0)
    res["stdout"] = fo.read()[-500:]
    res["stderr"] = fe.read()[-500:]
    res["rc"] = p.returncode
    res["wall_s"] = t_end - t0
    if rusage is not None:
        res["tree_cpu_s"] = rusage.ru_utime + rusage.ru_stime
        res["tree_share"] = res["tree_cpu_s"] / res["wall_s"]
    res["load_after"] = open("/proc/loadavg").read().split()[:3]
    if res["error"] is None:
        if p.returncode != 0:
            res["error"] = f"layerctl run exited {p.returncode}"
        elif not re.search(r"loop-exit=(143|124)\b", res["stdout"]):
            res["error"] = f"the loop did not end by its timeout (stdout: {res['stdout'].strip()[-100:]!r})"
    res["ok"] = res["error"] is None
    json.dump(res, open(out, "w"), indent=2)
    return 0 if res["ok"] else 1


# ---------------------------------------------------------------- strace phases
LINE = re.compile(r"^(\d+)\s+(\d+\.\d+)\s+(.*)$")
DUR = re.compile(r"<(\d+\.\d+)>\s*$")


def parse_trace(path):
    ev = []
    for line in open(path):
        m = LINE.match(line.rstrip("\n"))
        if m:
            ev.append((int(m.group(1)), float(m.group(2)), m.group(3)))
    if not ev:
        return None
    main = ev[0][0]
    t0 = ev[0][1]

    def first(pred, start=0):
        for i in range(start, len(ev)):
            if pred(ev[i]):
                return i
        return None

    def dur(i, name):
        """duration of the call at event i (a complete line, or its `<... name resumed>` line)"""
        pid, _, rest = ev[i]
        if "<unfinished ...>" not in rest:
            m = DUR.search(rest)
            return float(m.group(1)) if m else None
        j = first(lambda e: e[0] == pid and e[2].startswith(f"<... {name} resumed>"), i + 1)
        if j is None:
            return None
        m = DUR.search(ev[j][2])
        return float(m.group(1)) if m else None

    ts = lambda i: ev[i][1] if i is not None else None  # noqa: E731
    i_end = None
    for i in range(len(ev) - 1, -1, -1):
        if ev[i][0] == main and ev[i][2].startswith("+++ exited"):
            i_end = i
            break
    t_end = ev[i_end][1] if i_end is not None else ev[-1][1]
    # The init step is cloned as soon as the flags are read (in a goroutine); beside its exec and runtime
    # start the parent opens the store, creates the container, mounts the overlay, makes the cgroup dirs,
    # writes state.json and then the init step's config.
    i_clone = first(lambda e: e[2].startswith(("clone(", "clone3(")) and "CLONE_NEWPID" in e[2])
    i_store = first(lambda e: e[2].startswith("flock("))
    i_created = first(lambda e: e[2].startswith("renameat") and "/tmp/container-" in e[2])
    i_omount = first(lambda e: e[2].startswith('mount("overlay"'))
    i_cg = first(lambda e: e[2].startswith("mkdirat(") and "/sys/fs/cgroup" in e[2])
    i_config = first(lambda e: e[2].startswith("write(") and '\\"Mode\\"' in e[2])
    i_init = first(lambda e: e[2].startswith("execve(") and ("layerctl-init" in e[2] or '"/proc/self/exe"' in e[2]))
    init = ev[i_init][0] if i_init is not None else None
    t_init_exec = None
    if i_init is not None:
        if "<unfinished ...>" in ev[i_init][2]:
            j = first(lambda e: e[0] == init and e[2].startswith("<... execve resumed>"), i_init + 1)
            t_init_exec = ts(j)
        else:
            d = dur(i_init, "execve")
            t_init_exec = ev[i_init][1] + (d or 0)
    i_imount = first(lambda e: e[0] == init and e[2].startswith("mount("), i_init or 0) if init else None
    i_cmd = first(lambda e: e[0] == init and e[2].startswith("execve("), (i_imount or i_init or 0) + 1) if init else None
    i_cmd_exit = first(lambda e: e[0] == init and e[2].startswith(("+++ exited", "+++ killed")), i_cmd or 0) if init else None

    def span(a, b):
        return (b - a) * 1000 if a is not None and b is not None else None
    phases = [
        ("exec layerctl, Go runtime, package init (to the clone of layerctl-init, from pkg/ns/prespawn)",
         span(t0, ts(i_clone))),
        ("clone(NEWNS|UTS|IPC|PID|NET) + exec of layerctl-init", span(ts(i_clone), t_init_exec)),
        ("layerctl-init: Go runtime start, until its config and rootfs came (the parent's work, below)",
         span(t_init_exec, ts(i_imount))),
        ("layerctl-init: rootfs, /proc, /dev, pivot_root, hostname, lo, caps; go after the cgroup join",
         span(ts(i_imount), ts(i_cmd))),
        ("the command itself (execve to exit)", span(ts(i_cmd), ts(i_cmd_exit))),
        ("teardown: wait, cgroup rmdir, umount, rename into trash/ (--rm)", span(ts(i_cmd_exit), t_end)),
    ]
    fs = [dur(i, e[2].split("(")[0]) for i, e in enumerate(ev) if e[2].startswith(("fsync(", "fdatasync("))]
    fs = [d for d in fs if d is not None]
    um = [dur(i, "umount2") for i, e in enumerate(ev) if e[2].startswith("umount2(")]
    um = [d for d in um if d is not None]
    mo = [dur(i, "mount") for i, e in enumerate(ev) if e[2].startswith('mount("overlay"')]
    mo = [d for d in mo if d is not None]
    # writes of the child's PID into cgroup.procs (needs -y for the paths): the first attach of a process to a
    # v1 hierarchy takes the kernel's cgroup_threadgroup_rwsem for writing, which can wait for an RCU grace period
    cw = [dur(i, "write") for i, e in enumerate(ev) if e[2].startswith("write(") and "cgroup.procs>" in e[2]]
    cw = [d for d in cw if d is not None]
    # the deletion of the last run's trashed container dir, in a goroutine beside the start (off its path)
    tr = [i for i, e in enumerate(ev) if e[2].startswith("unlinkat(") and "/trash/" in e[2]]
    trash_ms = (ev[tr[-1]][1] - ev[tr[0]][1]) * 1000 if tr else 0
    i_frz = first(lambda e: e[2].startswith("write(") and '"FROZEN"' in e[2])
    i_thw = first(lambda e: e[2].startswith("write(") and '"THAWED"' in e[2], i_frz or 0) if i_frz is not None else None
    freeze = None
    if i_frz is not None and i_thw is not None:
        freeze = (ev[i_thw][1] + (dur(i_thw, "write") or 0) - ev[i_frz][1]) * 1000
    # the parent's work beside the init step's start, from the clone to the rootfs sent (not in the sum above)
    beside = [
        ("parent, at (ms from exec): store opened (first flock)", span(t0, ts(i_store))),
        ("parent, at: container created (rename into containers/)", span(t0, ts(i_created))),
        ("parent, at: config sent (the mount, cgroup and record come after it)", span(t0, ts(i_config))),
        ("parent, at: overlay mounted (the rootfs is sent after it)", span(t0, ts(i_omount))),
        ("parent, at: cgroup dirs made (on a goroutine)", span(t0, ts(i_cg))),
        ("config sent, counted from layerctl-init's exec (< its runtime start: no wait)",
         span(t_init_exec, ts(i_config))),
    ]
    return {"total_ms": (t_end - t0) * 1000, "phases": phases, "beside": beside,
            "cgprocs_n": len(cw), "cgprocs_ms": sum(cw) * 1000, "cgprocs_max_ms": max(cw) * 1000 if cw else 0,
            "freeze_thaw_ms": freeze, "trash_unlinks": len(tr), "trash_ms": trash_ms,
            "fsync_n": len(fs), "fsync_ms": sum(fs) * 1000, "fsync_max_ms": max(fs) * 1000 if fs else 0,
            "umount2_n": len(um), "umount2_ms": sum(um) * 1000,
            "overlay_mount_ms": sum(mo) * 1000}


def summarize(traces):
    runs = [r for r in (parse_trace(t) for t in traces) if r]
    if not runs:
        return {"runs": 0}

    def med(vals):
        vals = [v for v in vals if v is not None]
        return statistics.median(vals) if vals else None
    names = [n for n, _ in runs[0]["phases"]]
    summary = {"runs": len(runs),
               "phases": [(n, med([r["phases"][k][1] for r in runs])) for k, n in enumerate(names)],
               "beside": [(n, med([r["beside"][k][1] for r in runs])) for k, (n, _) in enumerate(runs[0]["beside"])],
               "total_ms": med([r["total_ms"] for r in runs])}
    for k in ("fsync_n", "fsync_ms", "fsync_max_ms", "umount2_n", "umount2_ms", "overlay_mount_ms",
              "cgprocs_n", "cgprocs_ms", "cgprocs_max_ms", "freeze_thaw_ms", "trash_unlinks", "trash_ms"):
        summary[k] = med([r[k] for r in runs])
    for k in ("fsync_ms", "total_ms", "cgprocs_max_ms"):
        summary[k + "_all"] = [round(r[k], 2) for r in runs]
    return summary


def phases(out, argv):
    """phases OUT.json LAYERCTL_TRACE... [-- CRUN_TRACE...]"""
    lc, _, cr = " ".join(argv).partition(" -- ")
    res = summarize(lc.split())
    if cr.strip():
        res["crun"] = summarize(cr.split())
    json.dump(res, open(out, "w"), indent=2)
    return 0 if res["runs"] else 1


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "tinyelf":
        tinyelf(args[0])
    elif cmd == "bundle":
        bundle(*args[:3])
    elif cmd == "merge":
        merge(args[0], args[1], args[2:])
    elif cmd == "cpushare":
        return cpushare(args[0], args[1:])
    elif cmd == "phases":
        return phases(args[0], args[1:])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
