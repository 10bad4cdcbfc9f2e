"""Run a command and write its own peak resident set size to a file.

Linux carries a parent's high-water mark into a child at ``exec``: the peak RSS
that ``wait4`` or ``getrusage`` reports for a process is at least what its
parent held when it spawned it. Spawned straight from a benchmark process
that holds hundreds of MB, every command would look that big. This launcher is
a small interpreter (started with ``-S``); what it reports is the peak of the
command and its waited-for descendants, plus at most the launcher's own few MB.

Usage: ``python -S bench/peak_rss.py OUT COMMAND [ARG ...]``. OUT receives the
peak in KiB; the launcher exits as the command did (a signal is re-raised).
"""

import os
import signal
import sys


def main() -> None:
    """Spawn the command, wait for it, write its peak RSS, exit as it did."""
    out, *command = sys.argv[1:]
    pid = os.posix_spawnp(command[0], command, os.environ)
    _, status, usage = os.wait4(pid, 0)
    with open(out, "w") as file:
        file.write(f"{usage.ru_maxrss}\n")
    if os.WIFSIGNALED(status):
        signal.signal(os.WTERMSIG(status), signal.SIG_DFL)
        os.kill(os.getpid(), os.WTERMSIG(status))
    sys.exit(os.waitstatus_to_exitcode(status))


if __name__ == "__main__":
    main()
