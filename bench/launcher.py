"""Run one command; write its wall time, exit code, peak RSS and CPU time as JSON. For ``bench/build.py``.

Run: ``python -I -S bench/launcher.py RESULT.json TIMEOUT COMMAND [ARG ...]`` (standard library only).

Why a launcher: on Linux a child's ``ru_maxrss`` (what ``wait4`` and ``RUSAGE_CHILDREN`` report) is at least the
resident size of the process that forked it, because the child starts as a copy of the parent (or, after
``vfork``/``posix_spawn``, runs in the parent's memory until ``exec``), and ``exec`` carries the old high-water
mark over. Forked from the bench itself (Python, httpx, tens of MiB), a small child would report the bench's
size. This process is ``python -I -S`` importing only ``os``, ``json``, ``signal`` and ``time``: about 6-10 MiB
at the fork, so that is the floor, far below anything measured. The bench prints the floor it gets (the peak of
``/bin/true`` run through here).

Wall time is taken here, from just before ``fork`` to the reap, so it includes the command's ``exec`` and its
interpreter start-up but none of the bench's own scheduling. SIGINT and SIGTERM are passed on to the command;
after TIMEOUT seconds it is killed (and ``timed_out`` is true).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from types import FrameType


def main() -> int:
    """Fork, exec, wait, report."""
    result, timeout, argv = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
    child = 0
    timed_out = False

    def forward(signum: int, frame: FrameType | None) -> None:
        if child > 0:
            os.kill(child, signum)

    def expire(signum: int, frame: FrameType | None) -> None:
        nonlocal timed_out
        if child > 0:
            timed_out = True
            os.kill(child, signal.SIGKILL)

    # Installed before the fork so no signal is lost; exec resets them to the default in the command.
    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGALRM, expire)
    start = time.perf_counter()
    child = os.fork()
    if child == 0:
        try:
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    _, status, usage = os.wait4(child, 0)
    seconds = time.perf_counter() - start
    signal.setitimer(signal.ITIMER_REAL, 0)
    report = {
        "seconds": seconds,
        "returncode": os.waitstatus_to_exitcode(status),
        "peak_rss": usage.ru_maxrss * 1024,  # Linux reports KiB
        "cpu": usage.ru_utime + usage.ru_stime,
        "timed_out": timed_out,
    }
    with open(result, "w", encoding="utf-8") as fh:
        json.dump(report, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
