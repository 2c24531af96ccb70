import atexit
import os
import sys
import threading

from pipeline_src.cli import main


def launched_directly(argv: list[str] | None = None) -> bool:
    """True for `python [interpreter options] -m pipeline_src ...`; False under a wrapper that runs
    us as a module and has work of its own after we return (`python -m cProfile -m pipeline_src`,
    `coverage run -m pipeline_src`, pyinstrument, a debugger)."""
    argv = sys.orig_argv if argv is None else argv
    i = 1
    while i < len(argv) and argv[i].startswith("-") and argv[i] != "-m":
        i += 2 if argv[i] in ("-X", "-W") else 1  # options that take a separate value
    return argv[i:i + 2] == ["-m", "pipeline_src"]


def exit_now(code: int) -> None:
    """Exit without the interpreter's teardown of every module, which takes ~1 s once torch is
    imported (a quarter of a tiny toy job on 2 cores, paid by every job of a sweep). Every
    output is already complete (atomic writes of closed files); what a normal exit still does
    that matters is done here first: the atexit callbacks (coverage, profilers, probes) and
    flushing stdout/stderr. Under a wrapper (a profiler) or with another non-daemon thread alive,
    the normal exit."""
    if not launched_directly() or any(t is not threading.main_thread() and not t.daemon
                                      for t in threading.enumerate()):
        sys.exit(code)
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    exit_now(main())
