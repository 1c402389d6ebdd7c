"""Run one command as a child and print its wall time, peak RSS, exit code and CPU time.

Usage: ``python -I -S measure.py COMMAND [ARG...]``; prints
``WALL_SECONDS MAXRSS_KIB EXIT CPU_SECONDS`` (CPU: user + system time of the child and of
every descendant it waited for).

Why a separate launcher rather than ``os.wait4`` in run.py itself: on Linux, ``exec()``
records the RSS high-water mark of the memory image it replaces into the new program's
``ru_maxrss``. A child that run.py spawns (``vfork``/``fork`` then ``exec``) would therefore
report at least run.py's own peak, whatever the child really used. This launcher is a bare
``python -I -S`` that imports nothing: it forks (copying only its own few MiB) and execs the
command, and ``os.wait4`` hands back the rusage of exactly that one child. The floor this
leaves (the launcher's own footprint, about 7 MiB) is reported in results.md and is below
every client measured. The clock starts just before the fork, so the launcher's own start-up
is not counted.

Kept free of imports on purpose (``os``, ``sys`` and ``time`` are built in): anything
imported here would raise the floor.
"""

import os
import sys
import time


def main() -> int:
    """Fork, exec, wait; report on stdout (the child's stdout goes to stderr)."""
    argv = sys.argv[1:]
    if not argv:
        sys.stderr.write("usage: measure.py COMMAND [ARG...]\n")
        return 2
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            os.dup2(2, 1)  # keep our stdout for the report alone
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    cpu = usage.ru_utime + usage.ru_stime
    code = os.waitstatus_to_exitcode(status)
    sys.stdout.write(f"{wall!r} {usage.ru_maxrss} {code} {cpu!r}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
