"""Two sovereign instances as an operator runs them: each party's `setu serve` on its own PostgreSQL database and keys.

India's instance holds the two-party world network (India-only, US-only, HAL-proprietary,
need-to-know and shared nodes) and serves its feed to the US over mutual TLS (`setu federation
serve`); the US instance pulls it (`setu federation pull`). Then the authorization matrix of
tests/sharing/test_read_paths.py runs over real HTTP against the US instance's `setu serve`: each U.S.
user sees there exactly what they may see of India's data, and no India-only or HAL-proprietary word
appears on any read path.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from clients import Api, add_users
from federation.conftest import Side
from federation.online import WebServer, certificate, environment, pin, public_key, pull, serve, serve_web
from federation.picture import received_picture, released_picture
from networks.world import US_ONLY_NODES, build_world
from principals import seed
from setu.db import session_factory, transaction
from setu.network.model import Network
from setu.sharing.markings import LEVEL_OF
from sharing.test_read_paths import check_every_read_path

pytestmark = pytest.mark.parametrize("engine", ["postgresql"], indirect=True)

US_READERS = ("us-analyst", "us-industry")
"""The U.S. instance's users whose view the matrix checks (India's users work on India's instance)."""


@dataclass
class Instances:
    india: Side
    us: Side
    india_web: WebServer
    us_web: WebServer


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture
def instances(
    engine: Engine, sessions: sessionmaker[Session], us_engine: Engine, world: Network, tmp_path: Path, key_dir: Path
) -> Iterator[Instances]:
    with transaction(sessions) as session:
        build_world(session, world)
    us_sessions = session_factory(us_engine)
    with transaction(us_sessions) as session:
        seed(session)  # the parties and organizations its users belong to; India's arrive under these names
    india, us = Side("IN", sessions), Side("US", us_sessions)
    certs = {party: certificate(tmp_path / "certs", party) for party in ("IN", "US")}
    # A link accredited to SECRET that shares the need-to-know group: what stays behind is national or proprietary.
    link = {"max_classification": LEVEL_OF["SECRET"], "groups": ["ENGINE"]}
    pin(
        india.sessions,
        local="IN",
        party="US",
        public_key=public_key(us.sessions, "US"),
        certificate=certs["US"][0],
        **link,
    )
    india_env, us_env = environment("IN", _url(engine), key_dir), environment("US", _url(us_engine), key_dir)
    listener = serve(india_env, "US", *certs["IN"], tmp_path / "in-feed.log")
    pin(
        us.sessions,
        local="US",
        party="IN",
        public_key=public_key(india.sessions, "IN"),
        certificate=certs["IN"][0],
        url=listener.base,
        **link,
    )
    servers: list[WebServer] = []
    try:
        pulled = pull(us_env, "IN", *certs["US"])
        assert pulled.returncode == 0, pulled.stdout + pulled.stderr
        servers.append(serve_web(india_env, tmp_path / "in-web.log"))
        servers.append(serve_web(us_env, tmp_path / "us-web.log"))
        yield Instances(india, us, *servers)
    finally:
        listener.stop()
        for server in servers:
            server.stop()


def _releasable_by_india(world: Network) -> Network:
    """The world as India's instance may release it: the US-only node India holds is under the US's marking
    authority, the US instance's to release, not India's."""
    gone = set(US_ONLY_NODES)
    return replace(
        world,
        nodes=[node for node in world.nodes if node.id not in gone],
        supplies=[edge for edge in world.supplies if not {edge.supplier, edge.customer} & gone],
        bom=[line for line in world.bom if line.node not in gone],
        products=[product for product in world.products if product.node not in gone],
    )


def test_the_us_instance_serves_each_us_user_exactly_their_view_of_what_india_released(
    instances: Instances, world: Network
) -> None:
    with transaction(instances.india.sessions) as india, transaction(instances.us.sessions) as us:
        assert received_picture(us, "IN") == released_picture(india, "US")  # record by record
    tokens, principals = add_users(instances.us.sessions)
    with httpx.Client(base_url=instances.us_web.base, timeout=60) as client:
        api = Api(client, None, instances.us.sessions, tokens, principals)  # type: ignore[arg-type]
        for user in US_READERS:
            check_every_read_path(api, _releasable_by_india(world), user)
    # India's own instance serves its users as before.
    with httpx.Client(base_url=instances.india_web.base, timeout=60) as client:
        assert client.get("/api/v1/health").json()["status"] == "ok"
