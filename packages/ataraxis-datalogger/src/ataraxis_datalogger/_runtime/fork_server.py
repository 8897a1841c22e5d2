"""Where the logger process comes from: the `multiprocessing` fork server, started so that it survives a Ctrl+C.

The logger process is started by the fork server (`spawn` where there is none), so it inherits nothing from the
owner (no threads, locks or open files: forking a threaded parent is unsafe, and Python 3.12+ warns about it), and
after the first start, starting one takes milliseconds instead of the ~0.5 s a spawned interpreter needs to import
NumPy.

Two things can keep the fork server from starting:

- A Ctrl+C (SIGINT to the whole foreground group) while it imports its preloaded modules, the program's main module
  first: it only ignores SIGINT once they are imported, so it died with a `KeyboardInterrupt` traceback and
  `start()` failed. It is therefore started with SIGINT blocked (a child inherits the signal mask of the thread
  that starts it); the last module it preloads, `fork_server_preloaded`, discards a pending Ctrl+C and unblocks
  SIGINT, just before the server ignores it by itself, so the processes it forks later get SIGINT as usual.
- Its socket lives in the temporary folder, and a Unix socket's path is limited to about 107 bytes: a longer
  `TMPDIR` made `start()` fail with "AF_UNIX path too long". Then, and whenever else the fork server cannot be
  started, the logger process is spawned instead.
"""

import multiprocessing
import signal
from multiprocessing.context import BaseContext
from typing import Final

_LOGGER_PROCESS_MODULE: Final = "ataraxis_datalogger._runtime.logger_process"
_LAST_PRELOADED_MODULE: Final = "ataraxis_datalogger._runtime.fork_server_preloaded"
_HAS_FORK_SERVER: Final = "forkserver" in multiprocessing.get_all_start_methods()
_SPAWN: Final = multiprocessing.get_context("spawn")


def logger_process_context() -> BaseContext:
    """Makes sure the fork server runs, preloading the logger process's module; returns the context to start it in.

    Returns:
        The `forkserver` context, or the `spawn` context if there is no fork server or it cannot be started.
    """
    if not _HAS_FORK_SERVER:
        return _SPAWN
    from multiprocessing import forkserver

    context = multiprocessing.get_context("forkserver")
    # The list is private; "__main__" is its documented default. Ours go last, the unblocking module at the end.
    listed = list(getattr(getattr(forkserver, "_forkserver", None), "_preload_modules", None) or ["__main__"])
    wanted = [name for name in listed if name not in (_LOGGER_PROCESS_MODULE, _LAST_PRELOADED_MODULE)]
    wanted += [_LOGGER_PROCESS_MODULE, _LAST_PRELOADED_MODULE]
    if wanted != listed:
        context.set_forkserver_preload(wanted)
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        forkserver.ensure_running()
    except OSError:
        return _SPAWN
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
    return context
