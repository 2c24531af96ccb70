import atexit
import os
import sys
import threading

from pipeline_src.cli import main


def exit_now(code: int) -> None:
    """Exit without the interpreter's teardown of every module, which takes ~1 s once torch is
    imported (a quarter of a tiny toy job on 2 cores, paid by every job of a sweep). Every
    output is already complete (atomic writes of closed files); what a normal exit still does
    that matters is done here first: the atexit callbacks (coverage, profilers, probes) and
    flushing stdout/stderr. With another non-daemon thread alive, the normal exit joins it."""
    if any(t is not threading.main_thread() and not t.daemon for t in threading.enumerate()):
        sys.exit(code)
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


exit_now(main())
