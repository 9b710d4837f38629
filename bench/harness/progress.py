"""Progress and time left of a benchmark run, across its configurations and phases, on stderr.

A run is long (about 5 minutes per configuration at the defaults, an hour for a scale series) and
mostly waits: a measured window is so many seconds of load whatever happens. So its length is known in
advance in *measured seconds* (each phase's warm-up plus window, summed over configurations and data
sizes), and what is not measured (starting the stack, seeding, warming) shows in the rate: the time left
is the measured seconds still to run at the run's average pace so far, overhead included.

Three modes, chosen from the stream:

- a terminal: one tqdm bar (https://tqdm.github.io), redrawn twice a second while a window runs, the
  phase as its description, elapsed and time left at its end; log lines print above it (``write``);
- not a terminal (CI, a pipe, a file): no bar, one line per phase, with the time left;
- ``quiet``: nothing but the log lines.

tqdm because the project already depends on it (seed_demo's and warm_caches' bars) and it does the
terminal work (redrawing, width, writing lines above the bar) that the runner should not; rich's
progress would add a dependency for the same.
"""

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from tqdm import tqdm


def _clock(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class RunProgress:
    """``total``: the run's measured seconds (``Run.planned_seconds``). ``tty``: force the mode (tests)."""

    TICK = 0.5  # seconds between redraws of the bar during a phase

    def __init__(self, total: float, *, stream: TextIO | None = None, quiet: bool = False, tty: bool | None = None):
        self.stream = stream or sys.stderr
        self.total = max(total, 0.0)
        self.done = 0.0
        self.started = time.monotonic()
        if tty is None:
            tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.mode = "quiet" if quiet else ("bar" if tty else "lines")
        self.bar = None
        if self.mode == "bar":
            self.bar = tqdm(
                total=round(self.total),
                unit="s",
                file=self.stream,
                smoothing=0,  # the average pace of the whole run, setup included
                dynamic_ncols=True,
                bar_format="{desc} {percentage:3.0f}%|{bar}| {n}/{total} s measured "
                "[{elapsed} elapsed, {remaining} left]",
            )

    def write(self, line: str) -> None:
        """A log line; above the bar when there is one."""
        if self.bar is not None:
            self.bar.write(line, file=self.stream)
        else:
            self.stream.write(line + "\n")
            self.stream.flush()

    def left(self) -> float | None:
        """Seconds left at the pace so far; None before any measured second ran."""
        if self.done <= 0:
            return None
        return (self.total - self.done) * (time.monotonic() - self.started) / self.done

    @contextmanager
    def phase(self, label: str, seconds: float = 0.0) -> Iterator[None]:
        """A phase of ``seconds`` measured seconds (0 for setup: stack start, seeding, warming)."""
        if self.mode == "lines":
            left = self.left()
            self.write(
                f"-- {label}"
                + (f": {seconds:.0f} s" if seconds else "")
                + f"; {_clock(time.monotonic() - self.started)}"
                f" elapsed, {self.done:.0f} of {self.total:.0f} measured seconds done"
                + (f", about {_clock(left)} left" if left is not None else "")
            )
        start, stop = self.done, threading.Event()
        ticker = None
        if self.bar is not None:
            self.bar.set_description_str(label, refresh=True)
            if seconds:
                began = time.monotonic()

                def tick() -> None:
                    while not stop.wait(self.TICK):
                        self._advance_to(start + min(seconds, time.monotonic() - began))

                ticker = threading.Thread(target=tick, daemon=True)
                ticker.start()
        try:
            yield
        finally:
            stop.set()
            if ticker is not None:
                ticker.join()
            self._advance_to(start + seconds)

    def _advance_to(self, done: float) -> None:
        self.done = max(self.done, min(done, self.total))
        if self.bar is not None:
            self.bar.n = round(self.done)
            self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        elif self.mode == "lines":
            self.write(f"-- done: {self.done:.0f} measured seconds in {_clock(time.monotonic() - self.started)}")


def phases_of(config, options) -> list[tuple[str, float]]:
    """The measured phases of one configuration and their seconds (warm-up included), in run order:
    what ``Run.run_config`` runs (bench/harness/driver.py)."""
    phases = [("mixed workload", options.warmup + options.duration)]
    if config.hot_phase:
        phases.append(("hot reads alone", min(3.0, options.warmup) + (options.hot_duration or options.duration)))
    phases += [(f"wrk {window}", min(2.0, options.warmup) + options.read_seconds) for window in config.wrk_windows]
    return phases
