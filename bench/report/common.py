"""What every section of the bench report shares: reading the hyperfine exports, formatting, targets."""
import json
import os


class Report:
    """One benchmark's results dir (RESULTS_DIR/TABLE.json exports, notes, failed, load) and its targets."""

    def __init__(self, rdir):
        self.rdir = rdir
        self.targets = []  # (ok: True/False/None, text)

    def path(self, name):
        return os.path.join(self.rdir, name)

    def json(self, name):
        try:
            with open(self.path(name)) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def load(self, table):
        """{command name: hyperfine result} of TABLE.json, or {}."""
        return {r["command"]: r for r in (self.json(table + ".json") or {}).get("results", [])}

    def lines(self, name):
        try:
            with open(self.path(name)) as f:
                return [l.rstrip("\n") for l in f if l.strip()]
        except OSError:
            return []

    def target(self, ok, text):
        self.targets.append((ok, text))

    def le(self, what, value, limit, show, detail=""):
        """A target value <= limit; show formats value and limit."""
        if value is None:
            self.target(None, f"{what}: not measured")
        else:
            self.target(value <= limit, f"{what}: {show(value)} (limit {show(limit)}){detail}")

    def finish(self):
        """Print the targets and failures; the exit code: 3 when BENCH_STRICT=1 and a target was missed or not
        measured, else 0 (the scripts exit 1 themselves when a command failed)."""
        if self.targets:
            print("\nTARGETS")
            for ok, text in self.targets:
                print(f"  {'n/a ' if ok is None else 'PASS' if ok else 'MISS'}  {text}")
            print(f"targets: {sum(1 for ok, _ in self.targets if ok)} PASS, "
                  f"{sum(1 for ok, _ in self.targets if ok is False)} MISS, "
                  f"{sum(1 for ok, _ in self.targets if ok is None)} not measured")
        failed = self.lines("failed")
        if failed:
            print(f"\nFAILED ({len(failed)}): a failing command is never timed")
            for f in failed:
                print(f"  - {f}")
        else:
            print("\nall commands exited 0 (each checked once before it was timed)")
        strict = os.environ.get("BENCH_STRICT") == "1"
        return 3 if strict and any(ok is not True for ok, _ in self.targets) else 0

    def notes(self):
        for n in self.lines("notes"):
            print(f"  {n}")


def med(res, name):
    r = res.get(name)
    return r["median"] if r else None


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt(s):
    if s is None:
        return "-"
    if s < 0.01:
        return f"{s * 1000:.2f} ms"
    return f"{s * 1000:.1f} ms" if s < 1 else f"{s:.2f} s"


def fus(s):
    return "-" if s is None else f"{s * 1e6:.1f} µs"


def fr(x):
    return "-" if x is None else f"{x:.3f}x" if x < 1 else f"{x:.2f}x"
