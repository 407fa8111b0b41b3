"""What the harness shows while it runs: one live status line on a terminal, plain periodic lines otherwise."""

from __future__ import annotations

import asyncio
import shutil
import sys
import time
from typing import TextIO

from tools.load.recorder import Recorder


class Progress:
    def __init__(self, stream: TextIO | None = None, live: bool | None = None, every: float = 5.0) -> None:
        self.stream = stream or sys.stdout
        self.live = self.stream.isatty() if live is None else live
        self.every = 0.5 if self.live else every
        self._open_line = False

    def note(self, text: str) -> None:
        """A line of its own (the live line, if any, is cleared first)."""
        if self._open_line:
            self.stream.write("\r\x1b[2K")
            self._open_line = False
        self.stream.write(text + "\n")
        self.stream.flush()

    def _status(self, text: str) -> None:
        if self.live:
            width = shutil.get_terminal_size((120, 20)).columns - 1
            self.stream.write("\r\x1b[2K" + text[:width])
            self._open_line = True
            self.stream.flush()
        else:
            self.note(text)

    async def follow(self, recorder: Recorder, label: str, total_seconds: float) -> None:
        """Until cancelled: elapsed time, phase, target and achieved rates, calls in flight, the last
        second's p99 and errors, and the totals so far."""
        try:
            while True:
                await asyncio.sleep(self.every)
                now = time.perf_counter()
                last = recorder.last_second(now)
                mark = recorder.current_mark(now)
                calls, errors = recorder.totals()
                target = (f" target {mark['target_per_second']:.0f}/s" if "target_per_second" in mark
                          else f" callers {mark['callers']}" if "callers" in mark else "")
                self._status(f"{label} {now - recorder.start:5.0f}/{total_seconds:.0f} s"
                             f"{' ' + mark['phase'] if mark.get('phase') else ''}{target} | last second "
                             f"{last['calls']}/s p99 {last['p99_ms']:.0f} ms errors {last['errors']} | in flight "
                             f"{recorder.in_flight} | total {calls} calls, {errors} errors")
        except asyncio.CancelledError:
            if self._open_line:
                self.stream.write("\n")
                self.stream.flush()
                self._open_line = False
            raise
