"""Shared by the benchmark scripts: replace one section of docs/performance.md in place."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PERFORMANCE_DOC = ROOT / "docs" / "performance.md"
DOC_INTRO = """# Performance

Measured numbers from the scripts in `benchmarks/`, each run on the machine named in its section.
Every section is written by its script; rerun the script to refresh it.
"""


def write_section(title: str, body: str) -> None:
    """Replace (or append) the ``## title`` section of docs/performance.md, leaving others alone."""
    heading = f"## {title}"
    text = PERFORMANCE_DOC.read_text(encoding="utf-8") if PERFORMANCE_DOC.exists() else DOC_INTRO
    section = f"{heading}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.DOTALL | re.MULTILINE)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + section
    PERFORMANCE_DOC.write_text(text, encoding="utf-8")


def machine() -> str:
    """One line naming the machine: CPU, cores, OS, Python and numpy, and the load at the time."""
    import os
    import platform

    import numpy as np

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            names = [line.split(":", 1)[1].strip() for line in info if line.startswith("model name")]
        if names:
            cpu = names[0]
    except OSError:
        pass
    load = ""
    if hasattr(os, "getloadavg"):
        load = f", load average {os.getloadavg()[0]:.1f} when the run started"
    return (f"{cpu} ({platform.machine()}), {os.cpu_count()} cores, {platform.system()} "
            f"{platform.release()}, Python {platform.python_version()}, numpy {np.__version__}"
            f"{load}")


def request_floor_ms(url: str, headers: dict[str, str] | None = None, n: int = 50) -> float:
    """Median wall time in ms of ``n`` GETs of ``url`` on one kept-alive ``requests`` session
    (what caveclient uses): the per-request cost of a stand-in and the client together."""
    import statistics
    import time

    import requests

    times = []
    with requests.Session() as session:
        session.get(url, headers=headers).raise_for_status()  # open the connection
        for _ in range(n):
            start = time.perf_counter()
            session.get(url, headers=headers).raise_for_status()
            times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000
