"""Helpers of the online tests: certificates, a free port, `setu federation serve` and `pull` as real processes.

Each process gets its instance's party, database and key folder in its environment, as an operator
would set them; a listener is ready when its port accepts connections.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from setu.db import transaction
from setu.federation.certs import make_certificate
from setu.federation.identity import this_instance
from setu.federation.partners import add_partner

SETU = [sys.executable, "-m", "setu"]
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def certificate(folder: Path, party: str, name: str | None = None) -> tuple[Path, Path]:
    """A key and self-signed certificate for ``party`` on the loopback address, as `setu partner cert` makes."""
    cert_pem, key_pem = make_certificate(party, [HOST])
    folder.mkdir(parents=True, exist_ok=True)
    stem = name or party.lower()
    cert, key = folder / f"{stem}.crt", folder / f"{stem}.key"
    cert.write_bytes(cert_pem)
    key.write_bytes(key_pem)
    key.chmod(0o600)
    return cert, key


def environment(party: str, database_url: str, key_dir: Path) -> dict[str, str]:
    """The environment of one instance's process."""
    return {
        **os.environ,
        "SETU_INSTANCE_PARTY": party,
        "SETU_DATABASE_URL": database_url,
        "SETU_KEY_DIR": str(key_dir),
        "SETU_CHECKPOINT_AUTO": "0",
    }


def pin(
    sessions: sessionmaker[Session],
    *,
    local: str,
    party: str,
    public_key: str,
    certificate: Path,
    url: str = "",
    max_classification: int = 2,
    groups: list[str] | None = None,
) -> None:
    """Make ``party`` a partner of the instance behind ``sessions``, its key and certificate pinned."""
    with transaction(sessions) as session:
        add_partner(
            session,
            local_party=local,
            party=party,
            public_key=public_key,
            url=url,
            certificate=certificate.read_text(),
            max_classification=max_classification,
            groups=groups,
            actor_name="test",
        )


def public_key(sessions: sessionmaker[Session], party: str) -> str:
    """The public key of ``party``'s instance (made in the key folder on first use)."""
    with transaction(sessions) as session:
        return this_instance(session, party).public_key_hex


@dataclass
class Listener:
    """A running `setu federation serve` process."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base(self) -> str:
        return f"https://{HOST}:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self, *, kill: bool = False) -> None:
        if self.process.poll() is None:
            self.process.kill() if kill else self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(15)


def serve(env: dict[str, str], partner: str, cert: Path, key: Path, log: Path, port: int | None = None) -> Listener:
    """Start `setu federation serve` for ``partner`` and wait until it accepts connections."""
    port = port or free_port()
    command = [*SETU, "federation", "serve", "--partner", partner, "--host", HOST, "--port", str(port)]
    with log.open("ab") as handle:
        process = subprocess.Popen(
            [*command, "--cert", str(cert), "--key", str(key)], env=env, stdout=handle, stderr=handle
        )
    listener = Listener(process, port, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"setu federation serve exited {process.returncode}:\n{listener.output()}")
        try:
            with socket.create_connection((HOST, port), timeout=1):
                return listener
        except OSError:
            time.sleep(0.05)
    listener.stop(kill=True)
    raise AssertionError(f"setu federation serve did not listen within 60 s:\n{listener.output()}")


def pull(
    env: dict[str, str], partner: str, cert: Path, key: Path, *, page_size: int = 1000
) -> subprocess.CompletedProcess[str]:
    """Run `setu federation pull` to completion (or failure); its output is in the result."""
    command = [*SETU, "federation", "pull", "--partner", partner, "--page-size", str(page_size)]
    return subprocess.run(
        [*command, "--cert", str(cert), "--key", str(key)], env=env, capture_output=True, text=True, timeout=300
    )


@dataclass
class WebServer:
    """A running `setu serve` process: one instance's web app and API."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(15)


def serve_web(env: dict[str, str], log: Path) -> WebServer:
    """Start `setu serve` on a free loopback port with ``env`` and wait until its health check answers."""
    import httpx

    port = free_port()
    with log.open("ab") as handle:
        process = subprocess.Popen(
            [*SETU, "serve", "--host", HOST, "--port", str(port), "--workers", "1", "--run-workers", "0"],
            env={**env, "SETU_COOKIE_SECURE": "0"},
            stdout=handle,
            stderr=handle,
        )
    server = WebServer(process, port, log)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"setu serve exited {process.returncode}:\n{log.read_text(errors='replace')}")
        try:
            if httpx.get(f"{server.base}/api/v1/health", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.1)
    server.stop()
    raise AssertionError(f"setu serve did not answer within 90 s:\n{log.read_text(errors='replace')}")
