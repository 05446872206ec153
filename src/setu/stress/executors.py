"""Where a sweep's batches run: in this process, in local worker processes, or on the actors of a Ray cluster.

Every executor takes the same batches and yields each batch's results exactly once, as batches complete.
A worker lost mid-sweep (killed, out of memory, its machine gone) costs only the batches it held: they
run again on a fresh worker, up to :data:`MAX_ATTEMPTS` times each, before the sweep gives up.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
import os
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Protocol

from setu.errors import SetuError, Unavailable
from setu.network.compile import CompiledNetwork
from setu.stress.solver import BatchResult, Task, WarmSolver

EXECUTORS = ("serial", "process", "ray")
MAX_ATTEMPTS = 3
"""Times one batch is tried before a sweep fails: a batch that kills every worker it meets is not retried forever."""


class Executor(Protocol):
    """Runs batches of tasks on warm solvers and yields each batch's results once, as it completes."""

    name: str
    retried: int
    """Batches run again because the worker holding them was lost."""

    def workers(self) -> int:
        """How many batches run at the same time."""
        ...

    def run(self, net: CompiledNetwork, compute_tts: bool, batches: Sequence[Sequence[Task]]) -> Iterator[BatchResult]:
        """Yield the results of every batch, in the order they complete."""
        ...


@dataclass
class SerialExecutor:
    """Every batch in this process, on one warm solver."""

    name: str = "serial"
    retried: int = 0

    def workers(self) -> int:
        return 1

    def run(self, net: CompiledNetwork, compute_tts: bool, batches: Sequence[Sequence[Task]]) -> Iterator[BatchResult]:
        solver = WarmSolver(net, compute_tts) if batches else None
        for batch in batches:
            assert solver is not None
            yield solver.run(batch)


_solver: WarmSolver | None = None


def _clean_start() -> multiprocessing.context.BaseContext:
    """Workers forked from a clean server process, not from this one.

    This process may hold database connections (a forked copy closing one at exit ends the parent's
    session) and threads (a fork copies their locks held); the fork server holds neither, and keeps the
    solver's modules imported so a worker starts in milliseconds.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():  # pragma: no cover - not Linux or macOS
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["setu.stress.executors"])
    return context


def _init_process(net: CompiledNetwork, compute_tts: bool) -> None:
    global _solver
    _solver = WarmSolver(net, compute_tts)


def _run_in_process(tasks: Sequence[Task]) -> BatchResult:
    assert _solver is not None, "worker process was not initialised"
    return _solver.run(tasks)


@dataclass
class ProcessExecutor:
    """Batches spread over ``jobs`` local worker processes, each building its warm solver once.

    When a worker process dies the pool breaks; the batches not yet returned run again on a new pool.
    """

    jobs: int = 0
    """Worker processes; 0 means one per CPU."""
    name: str = "process"
    retried: int = 0

    def workers(self) -> int:
        return self.jobs if self.jobs > 0 else os.cpu_count() or 1

    def run(self, net: CompiledNetwork, compute_tts: bool, batches: Sequence[Sequence[Task]]) -> Iterator[BatchResult]:
        if self.workers() == 1 or len(batches) <= 1:
            yield from SerialExecutor().run(net, compute_tts, batches)
            return
        remaining = set(range(len(batches)))
        for attempt in range(1, MAX_ATTEMPTS + 1):
            pool = ProcessPoolExecutor(
                max_workers=min(self.workers(), len(remaining)),
                mp_context=_clean_start(),
                initializer=_init_process,
                initargs=(net, compute_tts),
            )
            broken = False
            try:
                pending: dict[Future[BatchResult], int] = {
                    pool.submit(_run_in_process, batches[b]): b for b in sorted(remaining)
                }
                while pending and not broken:
                    finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for future in finished:
                        b = pending.pop(future)
                        try:
                            out = future.result()
                        except BrokenProcessPool:
                            broken = True
                            continue
                        remaining.discard(b)
                        yield out
            finally:
                # A cancelled sweep must not wait for the batches still queued.
                pool.shutdown(wait=False, cancel_futures=True)
            if not remaining:
                return
            self.retried += len(remaining)
            if attempt == MAX_ATTEMPTS:
                break
        raise Unavailable(
            f"the sweep's worker processes died {MAX_ATTEMPTS} times ({len(remaining)} batches unfinished); "
            "check the machine's memory and try again with fewer --jobs",
            retry_after=60,
        )


class _SolverActor:
    """A Ray actor holding one warm solver; the network comes from the object store, built once per actor."""

    def __init__(self, net: CompiledNetwork, compute_tts: bool) -> None:
        self.solver = WarmSolver(net, compute_tts)

    def pid(self) -> int:
        return os.getpid()

    def run(self, tasks: Sequence[Task]) -> BatchResult:
        return self.solver.run(tasks)


def ray_module() -> ModuleType:
    """The ``ray`` package, or a clear error naming the extra that installs it."""
    try:
        import ray
    except ImportError:  # pragma: no cover - depends on the installation
        raise SetuError("the Ray executor needs Ray: install Setu with the extra, pip install 'setu[ray]'") from None
    return ray


@dataclass
class _Slot:
    actor: Any
    pid: int
    load: int = 0
    alive: bool = True


@dataclass
class RayExecutor:
    """Batches spread over Ray actors, each holding a warm solver built from the network put once in the store.

    Parameters
    ----------
    jobs
        Actors; 0 means one per CPU the cluster offers.
    address
        The cluster to join (``auto``, ``ray://host:10001``, ``host:6379``); ``None`` joins the cluster this
        process already started (``ray.init``) or starts a local one for the sweep.
    """

    jobs: int = 0
    address: str | None = None
    name: str = "ray"
    retried: int = 0
    pids: list[int] = field(default_factory=list)
    """Process ids of the live actors, for operators (and the test that kills one)."""

    def workers(self) -> int:
        if self.jobs > 0:
            return self.jobs
        ray = ray_module()
        return max(1, int(ray.cluster_resources().get("CPU", 1))) if ray.is_initialized() else os.cpu_count() or 1

    def run(self, net: CompiledNetwork, compute_tts: bool, batches: Sequence[Sequence[Task]]) -> Iterator[BatchResult]:
        ray = ray_module()
        started_here = not ray.is_initialized()
        if started_here:
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
        slots: list[_Slot] = []
        try:
            yield from self._run(ray, net, compute_tts, batches, slots)
        finally:
            for slot in slots:
                ray.kill(slot.actor, no_restart=True)
            self.pids = []
            if started_here:
                ray.shutdown()

    def _run(
        self,
        ray: ModuleType,
        net: CompiledNetwork,
        compute_tts: bool,
        batches: Sequence[Sequence[Task]],
        slots: list[_Slot],
    ) -> Iterator[BatchResult]:
        if not batches:
            return
        actor_class = ray.remote(num_cpus=1)(_SolverActor)
        net_ref = ray.put(net)

        def start(count: int) -> None:
            actors = [actor_class.remote(net_ref, compute_tts) for _ in range(count)]
            # Waiting for the pids also waits for each actor's warm models, so a failed build fails here.
            pids = ray.get([actor.pid.remote() for actor in actors])
            slots.extend(_Slot(actor, pid) for actor, pid in zip(actors, pids, strict=True))
            self.pids = [slot.pid for slot in slots if slot.alive]

        start(max(1, min(self.workers(), len(batches))))
        queue = deque(range(len(batches)))
        attempts = [0] * len(batches)
        in_flight: dict[Any, tuple[int, _Slot]] = {}

        def feed() -> None:
            # Two batches per actor: one solving, one waiting, so no actor idles on the round trip.
            for slot in slots:
                while slot.alive and slot.load < 2 and queue:
                    b = queue.popleft()
                    in_flight[slot.actor.run.remote(batches[b])] = (b, slot)
                    slot.load += 1

        feed()
        while in_flight:
            ready, _ = ray.wait(list(in_flight), num_returns=1)
            b, slot = in_flight.pop(ready[0])
            slot.load -= 1
            try:
                out = ray.get(ready[0])
            except ray.exceptions.RayActorError:
                attempts[b] += 1
                self.retried += 1
                if attempts[b] >= MAX_ATTEMPTS:
                    raise Unavailable(
                        f"a batch of {len(batches[b])} scenarios lost its Ray worker {MAX_ATTEMPTS} times; "
                        "check the cluster's memory and nodes and try again",
                        retry_after=60,
                    ) from None
                queue.appendleft(b)
                if slot.alive:
                    slot.alive = False
                    start(1)
                feed()
                continue
            feed()
            yield out


def make_executor(name: str | None = None, jobs: int = 1, address: str | None = None) -> Executor:
    """The executor called ``name`` (``serial``, ``process`` or ``ray``) with ``jobs`` workers (0: one per CPU).

    Without a name: ``serial`` for one job, else ``process``.

    Examples
    --------
    >>> make_executor("process", jobs=2).workers()
    2
    >>> make_executor("serial").name
    'serial'
    >>> make_executor(jobs=2).name
    'process'
    """
    if name is None:
        name = "serial" if jobs == 1 else "process"
    if name == "serial":
        return SerialExecutor()
    if name == "process":
        return ProcessExecutor(jobs)
    if name == "ray":
        return RayExecutor(jobs, address)
    raise SetuError(f"unknown executor {name!r}; expected one of {', '.join(EXECUTORS)}")
