"""The containers bench (bench/containers.sh) and the commit bench (bench/commit.sh)."""
from common import fmt, fr, fus, med, ratio


def table(title, res, names, ref=None, extra=None):
    """Print one table; ref: the command the ratio column divides by."""
    print(f"\n{title}")
    if ref:
        print(f"  ratio = median / median of '{ref}'")
    hdr = f"  {'command':<46} {'median':>10} {'min – max':>21} {'n':>3} {'user+sys':>9}"
    print(hdr + (f" {'ratio':>7}" if ref else ""))
    for n in names:
        r = res.get(n)
        if not r:
            print(f"  {n:<46} {'not timed':>10}")
            continue
        mm = f"{fmt(r['min'])} – {fmt(r['max'])}"
        line = f"  {n:<46} {fmt(r['median']):>10} {mm:>21} {len(r['times']):>3} {fmt(r['user'] + r['system']):>9}"
        print(line + (f" {fr(ratio(r['median'], med(res, ref))):>7}" if ref else ""))
    for e in extra or []:
        print(e)


def header(rep, what):
    print(f"layerctl {what} bench")
    rep.notes()


def footer(rep):
    ld = rep.lines("load")
    if ld:
        print("\nload average (1/5/15 min) before -> after each table: " + "; ".join(ld))


def containers(rep):
    header(rep, "containers")
    cyc = rep.load("cycle")
    L, P = "layerctl create+mount+umount+rm", "podman create+mount+umount+rm"
    table("Create + mount + umount + rm of a debian:bookworm container (one sh -c per cycle)", cyc, [L, P], ref=P)
    rep.le("create-mount cycle, layerctl / podman", ratio(med(cyc, L), med(cyc, P)), 0.2, fr)
    mounts(rep)
    d = rep.load("diff")
    D0, D1, DK = "layerctl diff, 0 changes", "layerctl diff, 1 change", "layerctl diff, 10,000 changes"
    a0, a1, ak = med(d, D0), med(d, D1), med(d, DK)
    ex = []
    if a1 is not None and ak is not None:
        ex.append(f"\n  10,000 changes / 1 change: {fr(ratio(ak, a1))}; cost per change (t10000 - t1) / 9999: "
                  f"{fus((ak - a1) / 9999)}")
    if a0 is not None and a1 is not None:
        ex.append(f"  1 change - 0 changes: {fmt(a1 - a0) if a1 >= a0 else '-' + fmt(a0 - a1)}")
    table("diff of a debian:bookworm container after N changes made through the merged path", d, [D0, D1, DK],
          ref=D1, extra=ex)
    footer(rep)


def mounts(rep):
    mnt = rep.load("mount")
    mnt.update(rep.load("mount-600-first"))
    counts = [1, 64, 260, 600]
    lb = lambda n: "1 layer" if n == 1 else f"{n} layers"  # noqa: E731
    names = ["layerctl mount, 600 layers, first (flattens)"]
    names += [f"layerctl mount, {lb(n)}" for n in counts] + [f"layerctl umount, {lb(n)}" for n in counts]
    pm = [n for n in ("podman mount, 64 layers", "podman umount, 64 layers") if n in mnt]
    t1, t260 = med(mnt, "layerctl mount, 1 layer"), med(mnt, "layerctl mount, 260 layers")
    u1, u260 = med(mnt, "layerctl umount, 1 layer"), med(mnt, "layerctl umount, 260 layers")
    per = lambda a, b: (b - a) / 259 if a is not None and b is not None else None  # noqa: E731
    mn = lambda n: mnt[n]["min"] if n in mnt else None  # noqa: E731
    ex = [f"\n  growth per layer, (t260 - t1) / 259: mount {fus(per(t1, t260))}, umount {fus(per(u1, u260))} "
          f"(medians); mount {fus(per(mn('layerctl mount, 1 layer'), mn('layerctl mount, 260 layers')))} "
          "(from the minimums, less sensitive to load)"]
    pairs = [(n, med(mnt, f"layerctl mount, {lb(n)}"), med(mnt, f"layerctl umount, {lb(n)}")) for n in counts]
    ex.append("  mount + umount (sum of medians): " + ", ".join(
        f"{lb(n)} {fmt(a + b)}" for n, a, b in pairs if a is not None and b is not None))
    f600, l600 = med(mnt, names[0]), med(mnt, "layerctl mount, 600 layers")
    if f600 is not None and l600 is not None:
        ex.append(f"  600 layers: first mount (flattening included) {fmt(f600)}, later mounts {fmt(l600)} "
                  f"({fr(ratio(f600, l600))})")
    p64, l64 = med(mnt, "podman mount, 64 layers"), med(mnt, "layerctl mount, 64 layers")
    if p64 is not None:
        ex.append(f"  64 layers, timed side by side: layerctl mount {fmt(l64)} vs podman mount {fmt(p64)} "
                  f"({fr(ratio(l64, p64))})")
    table("Mount / umount of an existing container (testdata/mkimage.sh many N); whole commands",
          mnt, names + pm, extra=ex)
    rep.le("260-layer layerctl mount, whole command", t260, 0.015, fmt)


def commit(rep):
    header(rep, "commit")
    c = rep.load("commit")
    L, B, P, U = "layerctl commit", "buildah commit", "podman commit", "umoci repack (whole-rootfs diff)"
    table("Commit of one changed file (/etc/motd + 1 line) on debian:bookworm", c, [L, B, P, U], ref=L)
    rep.le("commit, layerctl / buildah", ratio(med(c, L), med(c, B)), 0.5, fr)
    rep.le("commit, layerctl / umoci repack", ratio(med(c, L), med(c, U)), 0.05, fr)
    big = rep.load("commit-big")
    S, G = "layerctl commit, debian (1x)", "layerctl commit, debian-big (10x)"
    size = rep.lines("big-size")
    table("The same one-line commit on a 10x larger image (timed side by side)", big, [S, G], ref=S,
          extra=["\n  " + size[0]] if size else None)
    rep.le("commit on the 10x image / on debian", ratio(med(big, G), med(big, S)), 1.2, fr)
    footer(rep)
