"""One of the Procfile's lines run by itself, outside honcho.

honcho stops every process when one exits, so a test that kills a whole worker, or starts a second
beat (as a second host would), runs that process on its own: the Procfile's command line through
``sh -c``, as a platform runs it, in a session of its own, with its output in a file.
"""

import os
import signal
import subprocess
from pathlib import Path

from tests.stack import ROOT, wait_until


def procfile_command(process_type: str) -> str:
    for entry in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = entry.partition(":")
        if name.strip() == process_type:
            return command.strip()
    raise KeyError(f"no {process_type} line in the Procfile")


class ProcfileProcess:
    def __init__(self, process_type: str, env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("ab") as handle:
            self.process = subprocess.Popen(
                ["sh", "-c", procfile_command(process_type)],
                cwd=ROOT,
                env=env,
                stdout=handle,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def lines(self) -> list[str]:
        return self.log.read_text(errors="replace").splitlines() if self.log.exists() else []

    def wait_for(self, text: str, timeout: float = 60) -> None:
        wait_until(
            lambda: any(text in line for line in self.lines()),
            timeout,
            lambda: f"no {text!r} in the output:\n" + "\n".join(self.lines()[-20:]),
            step=0.05,
        )

    def kill(self) -> None:
        """SIGKILL to the process and its children at once: nothing gets to clean up."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self, grace: float = 30) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
