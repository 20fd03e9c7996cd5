"""Wall time, CPU seconds and peak RSS of one process (and the children it waited for).

``os.wait4`` returns the rusage of exactly the child it reaps, its own waited-for
children included (advertools runs Scrapy in a child of its own), so contenders
measured one after another never mix their counts, and nothing polls while
they run.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Measurement", "cpu_seconds", "memory_kib", "run_measured"]

_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Measurement:
    wall_s: float
    user_s: float
    sys_s: float
    max_rss_kib: int  # the largest peak RSS of the process and of each waited-for child
    returncode: int

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.sys_s


def run_measured(command: list[str], *, cwd: Path, env: dict[str, str], log: Path) -> Measurement:
    """Run ``command`` to its end, its output into ``log``, and measure it."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    return Measurement(
        wall_s=wall,
        user_s=usage.ru_utime,
        sys_s=usage.ru_stime,
        max_rss_kib=usage.ru_maxrss,
        returncode=process.returncode,
    )


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) a running process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def memory_kib(field: str, pid: int | str = "self") -> int:
    """A ``/proc/PID/status`` memory field (``VmHWM``: peak RSS, ``VmRSS``) in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise KeyError(field)
