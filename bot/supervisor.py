"""Keeps a child process running: `hagukumi serve` runs its worker process under one, so a worker (and
the dispatcher inside it) that dies, whatever the cause, is started again."""
import logging
import os
import subprocess
import threading
import time

log = logging.getLogger("hagukumi.supervisor")
SUPERVISOR = "HAGUKUMI_SUPERVISOR_PID"   # the child stops when this process is gone (bot/worker_process.py)


def orphaned() -> bool:
    """Run under a supervisor that has died (killed, so it could not stop us): our parent is no longer it."""
    supervisor = os.environ.get(SUPERVISOR)
    return supervisor is not None and os.getppid() != int(supervisor)


class Supervised:
    """Runs `command` and starts it again whenever it exits, after a pause that doubles (first_pause up
    to max_pause) while it keeps dying soon after starting, and is first_pause again once it ran for
    healthy_after seconds."""

    def __init__(self, command: list[str], name: str, *, first_pause: float = 1.0, max_pause: float = 30.0,
                 healthy_after: float = 60.0):
        self.command, self.name = command, name
        self.first_pause, self.max_pause, self.healthy_after = first_pause, max_pause, healthy_after
        self.process: subprocess.Popen | None = None
        self.restarts = 0
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._keep_running, name=f"supervise-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _keep_running(self) -> None:
        pause = self.first_pause
        while True:
            with self._lock:
                if self._stopping.is_set():
                    return
                self.process = subprocess.Popen(self.command, env={**os.environ, SUPERVISOR: str(os.getpid())})
            started = time.monotonic()
            code = self.process.wait()
            if self._stopping.is_set():
                return
            if time.monotonic() - started >= self.healthy_after:
                pause = self.first_pause
            log.error("the %s process (pid %s) ended with %s; starting it again in %.0f s",
                      self.name, self.process.pid, code, pause)
            if self._stopping.wait(pause):
                return
            self.restarts += 1
            pause = min(pause * 2, self.max_pause)

    def stop(self, wait: float = 30.0) -> None:
        with self._lock:
            self._stopping.set()
            process = self.process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(wait)
            except subprocess.TimeoutExpired:
                process.kill()
        self._thread.join(wait)
