"""Time explore's first screen: from starting `layerctl explore IMAGE` in a detached tmux session
until the screen shows the layers, the tree of the top layer and the footer (capture-pane polled
every 5 ms). Writes {"times": [...seconds]} to OUT.

usage: python3 bench/explore_tui.py OUT RUNS LAYERCTL_COMMAND... IMAGE
"""
import json
import os
import subprocess
import sys
import time


def once(cmd, want):
    sock = f"layerctl-bench-tui-{os.getpid()}-{time.monotonic_ns()}"  # a fresh tmux server each run
    t0 = time.monotonic()
    subprocess.run(["tmux", "-L", sock, "new-session", "-d", "-x", "180", "-y", "45"] + cmd, check=True)
    try:
        while time.monotonic() - t0 < 30:
            scr = subprocess.run(["tmux", "-L", sock, "capture-pane", "-p"], capture_output=True, text=True).stdout
            if all(w in scr for w in want):
                return time.monotonic() - t0
            time.sleep(0.005)
        raise SystemExit(f"explore_tui: no first screen after 30 s:\n{scr}")
    finally:
        subprocess.run(["tmux", "-L", sock, "kill-server"], capture_output=True)


def main():
    out, runs, cmd = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    want = ["Layers", "everything up to this layer", "q quit"]
    once(cmd, want)  # warm-up
    times = [once(cmd, want) for _ in range(runs)]
    with open(out, "w") as f:
        json.dump({"times": times}, f)
    print(f"   explore TUI first screen: median {sorted(times)[len(times) // 2] * 1000:.1f} ms (n={runs})", file=sys.stderr)


if __name__ == "__main__":
    main()
