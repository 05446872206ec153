"""Settings of a Setu server, read once from the environment: limits, switches and the countries of concern."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

MIB = 1024 * 1024
DEFAULT_MAX_UPLOAD = 50 * MIB
DEFAULT_MAX_UPLOAD_ROWS = 200_000
DEFAULT_MAX_NODES = 100_000
DEFAULT_MAX_SUPPLIES = 1_000_000
DEFAULT_RUN_WORKERS = 2
RUN_EXECUTORS = ("serial", "process", "ray")
"""The names :func:`setu.stress.executors.make_executor` knows."""
DEFAULT_RUN_QUEUE = 20
DEFAULT_MAX_ACTIVE_RUNS = 3
DEFAULT_JOB_QUEUE = 50
DEFAULT_MAX_ACTIVE_JOBS = 5
DEFAULT_MAX_IN_FLIGHT = 24
DEFAULT_ADMISSION_QUEUE = 0
DEFAULT_ADMISSION_WAIT = 0.5
DEFAULT_MAP_NODES = 2500
DEFAULT_DASHBOARD_NODES = 5000

DEFAULT_CONCERN_COUNTRIES = frozenset({"CN", "RU", "KP", "IR"})
"""Origins of concern by default (ISO 3166 alpha-2).

China and Russia are the origins DOMAIN.md names (China's export controls on gallium, germanium,
antimony, graphite and rare earths; sanctions on Russian suppliers); North Korea and Iran complete
the "covered nations" of 10 U.S.C. 4872, the sourcing ban the demo network already applies.
"""


def parse_countries(text: str) -> frozenset[str]:
    """Country codes from a setting: separated by commas or spaces, case-insensitive.

    Parameters
    ----------
    text
        E.g. ``"CN, RU ir"``.

    Returns
    -------
    frozenset of str
        The codes in upper case (empty for blank text).
    """
    return frozenset(part.strip().upper() for part in text.replace(",", " ").split() if part.strip())


def _env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    return value.strip().lower() not in ("0", "false", "no", "off")


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds, got {value!r}") from None
    if not number > 0 or number == float("inf"):
        raise ValueError(f"{name} must be a finite number of seconds above 0, got {value!r}")
    return number


def _env_choice(name: str, choices: tuple[str, ...]) -> str | None:
    """One of ``choices`` from the environment, ``None`` when unset or blank; anything else stops the start."""
    value = os.environ.get(name, "").strip()
    if value and value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value or None


def _env_int(name: str, default: int, minimum: int = 1) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = int(value.replace("_", "").replace(",", ""))
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got {value!r}") from None
    if number < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {number}")
    return number


@dataclass(frozen=True, slots=True)
class ApiSettings:
    """Limits and switches of the HTTP API.

    Attributes
    ----------
    max_upload_bytes
        Largest network file accepted (413 above it); ``SETU_MAX_UPLOAD_MB`` sets it in MiB.
    max_zip_files
        Most files a .zip of CSV tables may hold.
    max_zip_bytes
        Most bytes a .zip of CSV tables, or an .xlsx workbook (itself a zip), may unpack to.
    max_upload_rows
        Most rows one table of an uploaded workbook or CSV folder may have (``SETU_MAX_UPLOAD_ROWS``).
    max_nodes
        Most nodes an uploaded network may have (``SETU_MAX_NODES``).
    max_supplies
        Most supply edges an uploaded network may have (``SETU_MAX_SUPPLIES``).
    secure_cookies
        Send the session cookie with ``Secure`` (HTTPS only); ``SETU_COOKIE_SECURE=0`` turns it off.
    run_jobs, run_executor, ray_address
        Workers each stress run uses (``SETU_RUN_JOBS``; 0: one per CPU), where they run
        (``SETU_RUN_EXECUTOR``: ``serial``, ``process`` or ``ray``; unset: serial for one job, else
        local processes), and the Ray cluster a ``ray`` run joins (``SETU_RAY_ADDRESS``, e.g.
        ``ray://head:10001``; unset: a local cluster started for the run).
    run_workers
        Run workers the app runs as threads of its own process (``SETU_RUN_WORKERS``; 0: runs are
        executed by ``setu worker`` processes, which ``setu serve`` starts and sets this to 0 for).
    run_queue
        Most runs queued or running on the instance, all users and processes together
        (``SETU_RUN_QUEUE``); a run started beyond it is refused with 503 and ``Retry-After``, and
        nothing is stored.
    run_heartbeat_seconds, run_stale_seconds, run_attempts, run_poll_seconds
        A run worker's heartbeat period, the silence after which it is presumed dead and its run
        queued again, how many times a run is tried before it fails, and how often an idle worker
        looks at the queue (``SETU_RUN_HEARTBEAT_SECONDS``, ``SETU_RUN_STALE_SECONDS``,
        ``SETU_RUN_ATTEMPTS``, ``SETU_RUN_POLL_SECONDS``).
    job_queue, max_active_jobs
        Most jobs (network imports, registry what-ifs) queued or running on the instance
        (``SETU_JOB_QUEUE``; beyond it 503) and for one user (``SETU_MAX_ACTIVE_JOBS``; beyond it 429),
        both with ``Retry-After`` and nothing stored. The run workers execute jobs too, with the run
        timings above.
    max_in_flight
        Requests one server process answers at once (``SETU_MAX_IN_FLIGHT``). The database pool holds
        as many connections, plus a few for the app's own background work, so an admitted request never
        waits for one.
    admission_queue, admission_wait
        Requests beyond ``max_in_flight`` that may wait for a place (``SETU_ADMISSION_QUEUE``; 0, the
        default: none, the next one is refused at once), and for how long at most
        (``SETU_ADMISSION_WAIT_SECONDS``); one more, or one that waited that long, is answered 503 with
        ``Retry-After``. A waiting request holds no thread and no connection. The load benchmark
        answered fewer requests, and later, with a queue than without (docs/benchmarks.md).
    db_pool_timeout
        Seconds a request waits for a database connection before it is answered 503 (``SETU_DB_POOL_TIMEOUT``).
    read_timeout
        Seconds a client may take to send the next part of a request body before it is answered 408
        (``SETU_READ_TIMEOUT``).
    max_active_runs
        Most runs one user may have queued or running at once (``SETU_MAX_ACTIVE_RUNS``); one more is
        refused with 429 and ``Retry-After``, and nothing is stored.
    reference_on_import
        Queue the reference sweep of the importer's view of each network version an upload stores
        (``SETU_REFERENCE_ON_IMPORT``, on unless ``0``); the dashboard offers it otherwise.
    map_nodes
        Most nodes a network map holds (``SETU_MAP_NODES``): above it, the visible products and their
        suppliers nearest first, with how many are shown of how many.
    dashboard_nodes
        Most visible nodes the dashboard traces a network's dependencies over (``SETU_DASHBOARD_NODES``):
        above it, counts computed in the database, and a note saying so.
    concern_countries
        Country codes whose nodes the dashboard counts as adversary-origin exposure;
        ``SETU_CONCERN_COUNTRIES`` (codes separated by commas or spaces) replaces the default
        :data:`DEFAULT_CONCERN_COUNTRIES`.
    login_max_failures
        Failed logins on one username (existing or not) within the lockout period that lock it
        (``SETU_LOGIN_MAX_FAILURES``, 423).
    login_source_max_failures
        Failed logins from one client address within the period before it is refused
        (``SETU_LOGIN_SOURCE_MAX_FAILURES``, 429).
    login_lockout_minutes
        The period failures are counted in, and a lockout lasts (``SETU_LOGIN_LOCKOUT_MINUTES``).
    max_concurrent_hashes
        Password hashes or checks (argon2, 64 MiB each) run at once (``SETU_MAX_CONCURRENT_HASHES``).
    hash_queue
        Logins that may wait for one of them (as coroutines, holding no thread); more are answered
        503 at once (``SETU_HASH_QUEUE``).
    hash_wait_seconds
        How long one waits before it is answered 503 (``SETU_HASH_WAIT_SECONDS``).
    """

    max_upload_bytes: int = DEFAULT_MAX_UPLOAD
    max_zip_files: int = 64
    max_zip_bytes: int = 200 * MIB
    max_upload_rows: int = DEFAULT_MAX_UPLOAD_ROWS
    max_nodes: int = DEFAULT_MAX_NODES
    max_supplies: int = DEFAULT_MAX_SUPPLIES
    secure_cookies: bool = True
    run_jobs: int = 1
    run_executor: str | None = None
    ray_address: str | None = None
    run_workers: int = DEFAULT_RUN_WORKERS
    run_queue: int = DEFAULT_RUN_QUEUE
    max_active_runs: int = DEFAULT_MAX_ACTIVE_RUNS
    reference_on_import: bool = True
    run_heartbeat_seconds: float = 1.0
    run_stale_seconds: float = 10.0
    run_attempts: int = 2
    run_poll_seconds: float = 0.5
    job_queue: int = DEFAULT_JOB_QUEUE
    max_active_jobs: int = DEFAULT_MAX_ACTIVE_JOBS
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
    admission_queue: int = DEFAULT_ADMISSION_QUEUE
    admission_wait: float = DEFAULT_ADMISSION_WAIT
    db_pool_timeout: float = 5.0
    read_timeout: float = 30.0
    map_nodes: int = DEFAULT_MAP_NODES
    dashboard_nodes: int = DEFAULT_DASHBOARD_NODES
    concern_countries: frozenset[str] = DEFAULT_CONCERN_COUNTRIES
    login_max_failures: int = 5
    login_source_max_failures: int = 30
    login_lockout_minutes: int = 15
    max_concurrent_hashes: int = 2
    hash_queue: int = 64
    hash_wait_seconds: int = 5

    def run_placement(self) -> dict[str, Any]:
        """Where a stress run started here runs: ``jobs``, ``executor`` and ``ray_address`` for ``start_run``."""
        return {"jobs": self.run_jobs, "executor": self.run_executor, "ray_address": self.ray_address}

    @classmethod
    def from_env(cls) -> ApiSettings:
        """Settings from the environment, else the defaults.

        ``SETU_MAX_UPLOAD_MB``, ``SETU_MAX_UPLOAD_ROWS``, ``SETU_MAX_NODES``, ``SETU_MAX_SUPPLIES``,
        ``SETU_RUN_WORKERS``, ``SETU_RUN_QUEUE``, ``SETU_MAX_ACTIVE_RUNS``, ``SETU_REFERENCE_ON_IMPORT``,
        the run worker timings,
        ``SETU_JOB_QUEUE``, ``SETU_MAX_ACTIVE_JOBS``,
        the serving limits ``SETU_MAX_IN_FLIGHT``, ``SETU_DB_POOL_TIMEOUT`` and ``SETU_READ_TIMEOUT``,
        ``SETU_MAP_NODES``, ``SETU_DASHBOARD_NODES``, ``SETU_COOKIE_SECURE``,
        ``SETU_CONCERN_COUNTRIES`` (blank or unset: the default set), and the
        login limits ``SETU_LOGIN_MAX_FAILURES``, ``SETU_LOGIN_SOURCE_MAX_FAILURES``,
        ``SETU_LOGIN_LOCKOUT_MINUTES``, ``SETU_MAX_CONCURRENT_HASHES``, ``SETU_HASH_QUEUE`` and
        ``SETU_HASH_WAIT_SECONDS``.

        Returns
        -------
        ApiSettings
            The settings.
        """
        megabytes = os.environ.get("SETU_MAX_UPLOAD_MB", "").strip()
        upload = int(float(megabytes) * MIB) if megabytes else DEFAULT_MAX_UPLOAD
        concern = parse_countries(os.environ.get("SETU_CONCERN_COUNTRIES", "")) or DEFAULT_CONCERN_COUNTRIES
        return cls(
            max_upload_bytes=upload,
            max_upload_rows=_env_int("SETU_MAX_UPLOAD_ROWS", DEFAULT_MAX_UPLOAD_ROWS),
            max_nodes=_env_int("SETU_MAX_NODES", DEFAULT_MAX_NODES),
            max_supplies=_env_int("SETU_MAX_SUPPLIES", DEFAULT_MAX_SUPPLIES),
            run_workers=_env_int("SETU_RUN_WORKERS", DEFAULT_RUN_WORKERS, minimum=0),
            run_queue=_env_int("SETU_RUN_QUEUE", DEFAULT_RUN_QUEUE),
            run_jobs=_env_int("SETU_RUN_JOBS", 1, minimum=0),
            run_executor=_env_choice("SETU_RUN_EXECUTOR", RUN_EXECUTORS),
            ray_address=os.environ.get("SETU_RAY_ADDRESS", "").strip() or None,
            max_active_runs=_env_int("SETU_MAX_ACTIVE_RUNS", DEFAULT_MAX_ACTIVE_RUNS),
            reference_on_import=_env_flag("SETU_REFERENCE_ON_IMPORT", True),
            run_heartbeat_seconds=_env_float("SETU_RUN_HEARTBEAT_SECONDS", 1.0),
            run_stale_seconds=_env_float("SETU_RUN_STALE_SECONDS", 10.0),
            run_attempts=_env_int("SETU_RUN_ATTEMPTS", 2),
            run_poll_seconds=_env_float("SETU_RUN_POLL_SECONDS", 0.5),
            job_queue=_env_int("SETU_JOB_QUEUE", DEFAULT_JOB_QUEUE),
            max_active_jobs=_env_int("SETU_MAX_ACTIVE_JOBS", DEFAULT_MAX_ACTIVE_JOBS),
            max_in_flight=_env_int("SETU_MAX_IN_FLIGHT", DEFAULT_MAX_IN_FLIGHT),
            admission_queue=_env_int("SETU_ADMISSION_QUEUE", DEFAULT_ADMISSION_QUEUE, minimum=0),
            admission_wait=_env_float("SETU_ADMISSION_WAIT_SECONDS", DEFAULT_ADMISSION_WAIT),
            db_pool_timeout=_env_float("SETU_DB_POOL_TIMEOUT", 5.0),
            read_timeout=_env_float("SETU_READ_TIMEOUT", 30.0),
            map_nodes=_env_int("SETU_MAP_NODES", DEFAULT_MAP_NODES),
            dashboard_nodes=_env_int("SETU_DASHBOARD_NODES", DEFAULT_DASHBOARD_NODES),
            secure_cookies=_env_flag("SETU_COOKIE_SECURE", True),
            concern_countries=concern,
            login_max_failures=_env_int("SETU_LOGIN_MAX_FAILURES", 5),
            login_source_max_failures=_env_int("SETU_LOGIN_SOURCE_MAX_FAILURES", 30),
            login_lockout_minutes=_env_int("SETU_LOGIN_LOCKOUT_MINUTES", 15),
            max_concurrent_hashes=_env_int("SETU_MAX_CONCURRENT_HASHES", 2),
            hash_queue=_env_int("SETU_HASH_QUEUE", 64),
            hash_wait_seconds=_env_int("SETU_HASH_WAIT_SECONDS", 5),
        )
