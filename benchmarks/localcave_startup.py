"""Start-up time of LocalCave's default world (target: < 3 s on a 2-core machine).

Run: ``python benchmarks/localcave_startup.py``. Prints, for a fresh process:

* import time of ``tracertools.testing.LocalCave`` (with numpy/pandas);
* time to build the default world and start serving (cold, uncached);
* time to start a second LocalCave with the same parameters (world cached in-process);
* time to a first answered caveclient call;
* the same for ``huge_neuron=True``.
"""

from __future__ import annotations

import time


def main() -> None:
    t0 = time.perf_counter()
    from tracertools.testing import LocalCave

    LocalCave.__name__  # noqa: B018 - resolve the lazy import
    t_import = time.perf_counter() - t0

    t1 = time.perf_counter()
    cave = LocalCave().start()
    t_cold = time.perf_counter() - t1

    t2 = time.perf_counter()
    client = cave.client()
    client.chunkedgraph.is_latest_roots([cave.world.neuron_root(0)])
    t_first = time.perf_counter() - t2
    cave.stop()

    t3 = time.perf_counter()
    warm = LocalCave(datastack_name="bench_warm").start()
    t_warm = time.perf_counter() - t3
    warm.stop()

    t4 = time.perf_counter()
    huge = LocalCave(huge_neuron=True, datastack_name="bench_huge").start()
    t_huge = time.perf_counter() - t4
    huge.stop()

    print(f"import tracertools.testing.LocalCave : {t_import:6.2f} s")
    print(f"default world, cold start            : {t_cold:6.2f} s   (target < 3 s)")
    print(f"total (import + cold start)          : {t_import + t_cold:6.2f} s")
    print(f"second LocalCave (world cached)      : {t_warm:6.3f} s")
    print(f"first caveclient call (2 handshakes) : {t_first:6.2f} s")
    print(f"huge_neuron=True, cold start         : {t_huge:6.2f} s")
    print(f"world: {cave.world.describe()}")


if __name__ == "__main__":
    main()
