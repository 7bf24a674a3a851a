"""How fast this machine is right now, printed by each benchmark beside its figures: a shared VM's speed
drifts (the same code measured 30% apart within minutes), so a figure is read against the speed then."""
import os
import time


def loop_ms() -> float:
    """CPU time of a fixed pure-Python loop, the fastest of three (ms)."""
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        sum(i * i for i in range(1_000_000))
        best = min(best, time.process_time() - started)
    return best * 1000


def describe() -> str:
    load = os.getloadavg()
    return f"load average {load[0]:.1f} {load[1]:.1f}; a fixed Python loop {loop_ms():.0f} ms (bench/machine.py)"
