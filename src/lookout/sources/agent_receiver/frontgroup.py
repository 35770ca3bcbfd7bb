"""The process that holds the receiver's TLS fronts: it builds the TLS context once and forks
one front per slot from it, so every front has the same session-ticket keys (OpenSSL draws them
when the context is made) and a session one front gave out resumes at any other.

It forks before any event loop or thread exists, and stays a plain ``poll`` loop so that it
can fork again: a front that exits is forked anew from the same context (after a back-off), and
the site's end of the new front's socket pair goes to the site over the control socket
(``SCM_RIGHTS``) with the message ``front <slot>``. It stops its fronts and exits on SIGTERM or
SIGINT, and when the site closes the control socket (the site died).
"""

from __future__ import annotations

import ctypes
import logging
import os
import select
import signal
import socket
import time
import traceback
from collections.abc import Callable

from OpenSSL import SSL

log = logging.getLogger("lookout.agent_receiver.front")

RESTART_DELAYS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
STOP_TIMEOUT = 8.0
"""Seconds the fronts get to finish what they hold at a stop (each takes at most 5)."""
PR_SET_PDEATHSIG = 1

Front = Callable[[SSL.Context, int, int], int]
"""Serve as one front: (context, listening fd, IPC fd) -> exit code."""


def control_message(slot: int) -> bytes:
    return f"front {slot}".encode()


def parse_control(msg: bytes) -> int:
    """The slot of a ``front <slot>`` message (ValueError for anything else)."""
    word, slot = msg.decode().split()
    if word != "front":
        raise ValueError(f"unexpected control message {msg!r}")
    return int(slot)


class FrontGroup:
    def __init__(
        self, ctx: SSL.Context, listen_fd: int, control: socket.socket, front: Front
    ) -> None:
        self.ctx = ctx
        self.listen_fd = listen_fd
        self.control = control
        self.front = front
        self.children: dict[int, int] = {}  # pid -> slot
        self.restarts: dict[int, int] = {}  # slot -> times started again
        self.due: dict[int, float] = {}  # slot -> when to fork it again
        self.wake_r, self.wake_w = socket.socketpair()
        self._held: list[int] = []  # fds a child closes: the group's own and other slots'

    def run(self, ipc_fds: list[int]) -> int:
        """Fork a front per IPC fd, then keep them running until told to stop."""
        for s in (self.wake_r, self.wake_w):
            s.setblocking(False)
        signal.set_wakeup_fd(self.wake_w.fileno())
        for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: None)  # the wakeup fd carries the signal number
        self._held = [self.wake_r.fileno(), self.wake_w.fileno(), self.control.fileno(), *ipc_fds]
        for slot, fd in enumerate(ipc_fds):
            self._fork(slot, fd)
            os.close(fd)
            self._held.remove(fd)
        poll = select.poll()
        poll.register(self.wake_r, select.POLLIN)
        poll.register(self.control, select.POLLIN)
        while True:
            wait = min(self.due.values(), default=None)
            timeout = None if wait is None else max(0, int((wait - time.monotonic()) * 1000) + 1)
            for fd, _ in poll.poll(timeout):
                if fd == self.control.fileno() and not self._site_alive():
                    return self._stop()
                if fd == self.wake_r.fileno() and self._signalled():
                    return self._stop()
            self._reap()
            now = time.monotonic()
            for slot in [s for s, t in self.due.items() if t <= now]:
                del self.due[slot]
                if not self._replace(slot):
                    return self._stop()

    def _site_alive(self) -> bool:
        try:
            return bool(self.control.recv(64))
        except BlockingIOError:
            return True
        except OSError:
            return False

    def _signalled(self) -> bool:
        """Whether a stop signal came (SIGCHLD is handled by ``_reap``)."""
        try:
            sigs = self.wake_r.recv(256)
        except BlockingIOError:
            return False
        return signal.SIGTERM in sigs or signal.SIGINT in sigs

    def _fork(self, slot: int, ipc_fd: int) -> None:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child, which never returns
            self._child(ipc_fd)
        self.children[pid] = slot

    def _child(self, ipc_fd: int) -> None:
        code = 1
        try:
            signal.set_wakeup_fd(-1)
            for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, signal.SIG_DFL)
            for fd in self._held:
                if fd != ipc_fd:
                    os.close(fd)
            parent = os.getppid()
            # The group can be killed (SIGKILL) without stopping us: have the kernel tell us.
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
            if os.getppid() == parent:
                code = self.front(self.ctx, self.listen_fd, ipc_fd)
        except BaseException:
            traceback.print_exc()
        finally:
            logging.shutdown()
            os._exit(code)

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            slot = self.children.pop(pid, None)
            if slot is None:
                continue
            n = self.restarts.get(slot, 0)
            delay = RESTART_DELAYS[min(n, len(RESTART_DELAYS) - 1)]
            self.restarts[slot] = n + 1
            log.error(
                "agent receiver front %d (pid %d) exited with %s; starting it again in %g s",
                slot, pid, os.waitstatus_to_exitcode(status), delay,
            )  # fmt: skip
            self.due[slot] = time.monotonic() + delay

    def _replace(self, slot: int) -> bool:
        """Fork a front for ``slot`` and hand the site its end; False when the site is gone."""
        site_end, front_end = socket.socketpair()
        try:
            self._held.append(front_end.fileno())
            self._held.append(site_end.fileno())
            self._fork(slot, front_end.fileno())
            try:
                socket.send_fds(self.control, [control_message(slot)], [site_end.fileno()])
            except OSError:
                return False
            return True
        finally:
            self._held.remove(front_end.fileno())
            self._held.remove(site_end.fileno())
            front_end.close()
            site_end.close()

    def _stop(self) -> int:
        """SIGTERM the fronts, wait for them (SIGKILL after ``STOP_TIMEOUT``)."""
        for pid in self.children:
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while self.children and time.monotonic() < deadline:
            self._reap_quietly()
            time.sleep(0.02)
        for pid in self.children:
            os.kill(pid, signal.SIGKILL)
        while self.children:
            pid, _ = os.waitpid(-1, 0)
            self.children.pop(pid, None)
        return 0

    def _reap_quietly(self) -> None:
        while self.children:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                self.children.clear()
                return
            if pid == 0:
                return
            self.children.pop(pid, None)
