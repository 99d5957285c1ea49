"""The client side of the EvoGym worker (`voxels_evogym_worker.py`, whose docstring gives the JSON-lines
protocol): finding EvoGym's interpreter, starting worker processes, asking them, and errors that say
what went wrong and how to set EvoGym up."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

EVOGYM_PYTHON_VARIABLE = "GRIDWORLDS_EVOGYM_PYTHON"
WORKER = Path(__file__).with_name("voxels_evogym_worker.py")
SETUP = f"""set EvoGym 2.0 up in a Python 3.10 of its own once:
    python3.10 -m venv ~/evogym-venv
    ~/evogym-venv/bin/pip install evogym==2.0.0
    export {EVOGYM_PYTHON_VARIABLE}=~/evogym-venv/bin/python
(or give the interpreter as study.evogym_python)"""


class EvoGymUnavailable(RuntimeError):
    """No usable EvoGym: the message says what is missing and how to set it up."""


class EvoGymError(RuntimeError):
    """EvoGym refused a request (a body, a task); the message names it."""


def evogym_python(configured: str) -> str:
    """The interpreter that runs the worker: study.evogym_python, else $GRIDWORLDS_EVOGYM_PYTHON."""
    python = configured or os.environ.get(EVOGYM_PYTHON_VARIABLE, "")
    where = "study.evogym_python" if configured else EVOGYM_PYTHON_VARIABLE
    if not python:
        raise EvoGymUnavailable(
            f"this study compares the voxel simulator with EvoGym 2.0, and no interpreter for it is "
            f"given (study.evogym_python is empty and {EVOGYM_PYTHON_VARIABLE} is unset); {SETUP}"
        )
    if shutil.which(python) is None:
        raise EvoGymUnavailable(f"{where} = {python!r} is not an executable interpreter; {SETUP}")
    return python


class EvoGymWorker:
    """One worker process and its pipe: `ask(request)` sends a request and returns its answer."""

    def __init__(self, python: str):
        self.python = python
        self.process = subprocess.Popen(
            [python, str(WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        # EvoGym's chatter goes to stderr; keep its tail for error messages, and never let the pipe fill.
        self.stderr_tail: list[str] = []
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        self.greeting = self._answer("start")

    def _drain_stderr(self) -> None:
        for line in self.process.stderr:
            self.stderr_tail = [*self.stderr_tail[-19:], line.rstrip()]

    def _answer(self, doing: str) -> dict[str, Any]:
        line = self.process.stdout.readline()
        if not line:
            self.process.wait(timeout=10)
            tail = "\n    ".join(self.stderr_tail) or "(nothing on stderr)"
            raise EvoGymUnavailable(
                f"the EvoGym worker under {self.python} stopped while it was asked to {doing} "
                f"(exit code {self.process.returncode}); its last words:\n    {tail}\n{SETUP}"
            )
        answer = json.loads(line)
        if "error" in answer:
            raise EvoGymError(answer["error"])
        return answer

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        return self._answer(request["op"])

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)


class EvoGymPool:
    """`workers` worker processes, started on first use; `map` spreads requests over them."""

    def __init__(self, python: str, workers: int):
        self.python, self.workers = python, workers
        self.idle: list[EvoGymWorker] = []
        self.lock = threading.Lock()

    def _borrow(self) -> EvoGymWorker:
        with self.lock:
            if self.idle:
                return self.idle.pop()
        return EvoGymWorker(self.python)

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        worker = self._borrow()
        try:
            return worker.ask(request)
        finally:
            with self.lock:
                self.idle.append(worker)

    def map(self, requests: Sequence[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """The answers in the requests' order."""
        with ThreadPoolExecutor(self.workers) as threads:
            yield from threads.map(self.ask, requests)

    def close(self) -> None:
        for worker in self.idle:
            worker.close()
        self.idle = []
