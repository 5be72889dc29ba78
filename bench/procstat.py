"""Memory and CPU of processes, read from /proc (Linux), so the bench needs no extra package."""

import os
import time
from dataclasses import dataclass

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes(pid: int) -> int:
    """Resident set size of `pid` (all its threads); 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * PAGE_SIZE
    except (OSError, IndexError, ValueError):
        return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of `pid` (all its threads) so far; 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            # The command name may contain spaces; fields after its closing parenthesis are fixed.
            fields = stat.read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    except (OSError, IndexError, ValueError):
        return 0.0


@dataclass
class CpuWindow:
    """CPU used by a set of processes between start() and stop(), in % of one core."""

    pids: list[int]
    started_wall: float = 0.0
    started_cpu: float = 0.0

    def start(self) -> "CpuWindow":
        self.started_wall = time.perf_counter()
        self.started_cpu = sum(cpu_seconds(pid) for pid in self.pids)
        return self

    def percent(self) -> float:
        wall = time.perf_counter() - self.started_wall
        used = sum(cpu_seconds(pid) for pid in self.pids) - self.started_cpu
        return round(100.0 * used / wall, 1) if wall > 0 else 0.0


def total_rss(pids: list[int]) -> int:
    return sum(rss_bytes(pid) for pid in pids)
