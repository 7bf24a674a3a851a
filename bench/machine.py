"""How fast this machine is right now, printed by each benchmark beside its figures: a shared VM's speed
drifts (the same code measured twice as slow for minutes at a time), so a figure is read against the
speed then. Two probes, since they drift apart: a small loop that lives in the CPU's caches, and random
reads over 150 MB, which a neighbour's use of the memory slows (the bot's work is more like the second)."""
import os
import time

_WORDS = 4_000_000


def loop_ms() -> float:
    """CPU time of a fixed pure-Python loop, the fastest of three (ms)."""
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        sum(i * i for i in range(1_000_000))
        best = min(best, time.process_time() - started)
    return best * 1000


def memory_ms() -> float:
    """CPU time of 300,000 reads at scattered places of a 4-million-int list, the fastest of three (ms)."""
    data = list(range(_WORDS))
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        total, at = 0, 1
        for _ in range(300_000):
            at = (at * 2_654_435_761 + 1) % _WORDS
            total += data[at]
        best = min(best, time.process_time() - started)
    return best * 1000


def describe() -> str:
    load = os.getloadavg()
    return (f"load average {load[0]:.1f} {load[1]:.1f}; machine speed (bench/machine.py): loop {loop_ms():.0f} ms, "
            f"memory {memory_ms():.0f} ms")
