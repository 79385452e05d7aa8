"""Race tests' threads: started together, waited for together."""

from __future__ import annotations

import threading
from collections.abc import Callable


def run_all(targets: list[Callable[[], None]]) -> None:
    """Run each target in a thread of its own, all at once, and wait for all of them.

    No deadline of its own: how long the threads take depends on how busy the machine is (moto
    serves their requests one at a time), and a hang is caught by the suite's per-test timeout
    (`timeout` in pyproject's pytest section).
    """
    threads = [threading.Thread(target=target) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
