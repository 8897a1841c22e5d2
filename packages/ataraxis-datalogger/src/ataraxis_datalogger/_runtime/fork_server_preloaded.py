"""Imported only by the fork server, as the last module it preloads: lets SIGINT through again (see `fork_server`).

The fork server is started with SIGINT blocked so that a Ctrl+C cannot kill it while it imports its modules. Here,
once they are imported, a Ctrl+C that came meanwhile is discarded (ignoring a pending signal discards it) and SIGINT
is unblocked, with the handler it had restored: the fork server then ignores SIGINT by itself, and the processes it
forks get the usual handler and an unblocked SIGINT. Imported anywhere SIGINT is not blocked, it does nothing.
"""

import signal
import threading


def _let_sigint_through() -> None:
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, set()):
        return
    handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    signal.signal(signal.SIGINT, handler)


_let_sigint_through()
