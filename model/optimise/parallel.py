"""Independent re-solves in parallel (stress --replan, levers): the sweep's pattern, without Dask.

Each task is a module-level function and picklable arguments (InputData pickles; Pyomo models
do not, so a task builds its own). Processes are spawned, as in sensitivity.py, so HiGHS's
state never crosses a fork. One worker runs the tasks in this process (no pickling at all).
"""

from __future__ import annotations

import os
from collections.abc import Callable


def parallel_map(function: Callable, argument_tuples: list[tuple], workers: int | None = None,
                 progress: Callable[[int, int], None] | None = None) -> list:
    """[function(*args) for args in argument_tuples], in order, on `workers` processes."""
    workers = max(1, min(workers or os.cpu_count() or 1, len(argument_tuples)))
    total = len(argument_tuples)
    if workers <= 1:
        out = []
        for args in argument_tuples:
            out.append(function(*args))
            if progress:
                progress(len(out), total)
        return out
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from cowopt.optimise.solve import no_helper_in_this_process

    results: dict[int, object] = {}
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=no_helper_in_this_process) as pool:
        futures = {pool.submit(function, *args): i for i, args in enumerate(argument_tuples)}
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            if progress:
                progress(len(results), total)
    return [results[i] for i in range(total)]
