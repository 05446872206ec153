"""Jobs over HTTP: 202 with Location, the caps (429 per user, 503 for the instance) with nothing stored,
an import with a bad file failed with its problems, and cheap bad input refused at once.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from clients import TEST_SETTINGS, Api, make_api, table_counts
from networks.world import small_network
from registry.world import RegistryWorld, build
from setu.models.jobs import JobRecord
from setu.network.io.setu_format import write_setu

Factory = sessionmaker[Session]
API = "/api/v1"
CAPPED = replace(TEST_SETTINGS, run_workers=0, max_active_jobs=1, job_queue=2)
"""No worker thread (jobs stay queued), one active job per user, two on the instance."""
NETWORK_TABLES = (
    "networks",
    "network_nodes",
    "network_supplies",
    "network_bom",
    "network_products",
    "network_site_capacities",
)


def jobs_stored(api: Api) -> int:
    with api.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(JobRecord)) or 0)


@pytest.fixture
def capped(engine: Engine, sessions: Factory) -> Iterator[tuple[Api, RegistryWorld]]:
    built: list[RegistryWorld] = []

    def prepare(session: Session) -> None:
        built.append(build(session))

    for api in make_api(engine, sessions, CAPPED, prepare):
        yield api, built[0]


def test_the_caps_answer_429_and_503_with_retry_after_and_store_nothing(capped: tuple[Api, RegistryWorld]) -> None:
    api, world = capped
    body = {"scenario": world.scenario, "capability_id": world.capabilities["HAL Nashik"]}
    first = api.post("in-analyst", f"{API}/registry/what-if", json=body)
    assert first.status_code == 202 and first.headers["location"] == f"{API}/jobs/{first.json()['id']}"
    assert first.json()["status"] == "queued"
    over_mine = api.post("in-analyst", f"{API}/registry/what-if", json=body)
    assert over_mine.status_code == 429 and int(over_mine.headers["retry-after"]) > 0
    assert "1 jobs queued or running" in over_mine.json()["detail"] and jobs_stored(api) == 1
    lynn = {"scenario": world.scenario, "capability_id": world.capabilities["GE Lynn"]}
    assert api.post("us-analyst", f"{API}/registry/what-if", json=lynn).status_code == 202
    full = api.post("in-industry", f"{API}/registry/what-if", json=lynn)
    assert full.status_code == 503 and int(full.headers["retry-after"]) > 0, full.text
    upload = api.post("auditor", f"{API}/networks", files={"file": ("x.json", b"{}")})
    assert upload.status_code == 403  # the role is checked before the caps
    assert jobs_stored(api) == 2
    # Cancelling one makes room again.
    assert api.post("in-analyst", f"{API}/jobs/{first.json()['id']}/cancel").json()["status"] == "cancelled"
    assert api.post("in-analyst", f"{API}/registry/what-if", json=body).status_code == 202


def test_an_import_of_a_bad_file_fails_with_every_problem_and_stores_nothing(
    api: Api, engine: Engine, tmp_path: Path
) -> None:
    network = small_network()
    folder = write_setu(network, tmp_path / "tables")
    nodes = (folder / "nodes.csv").read_text().splitlines()
    capacity = next(node.capacity for node in network.nodes if node.id == "T1_2")
    nodes[2] = nodes[2].replace(f",{capacity:g},", ",lots,")
    (folder / "nodes.csv").write_text("\n".join(nodes) + "\n")
    (folder / "bom.csv").write_text((folder / "bom.csv").read_text() + "T1_1,ghost,1\n")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, path.name)
    before = table_counts(engine)
    answer = api.post("in-analyst", f"{API}/networks", files={"file": ("tables.zip", buffer.getvalue())})
    job = api.finished("in-analyst", answer)
    assert job["status"] == "failed" and job["result_id"] is None, job
    problems = job["result"]["problems"]
    assert any(p["where"] == "tables.zip/nodes.csv, line 3, column capacity" for p in problems), problems
    assert len(problems) >= 2 and job["result"]["problem_total"] == len(problems)
    assert job["error"].startswith(f"{len(problems)} problem(s), nothing was stored: tables.zip/")
    after = table_counts(engine)
    assert {t: after[t] for t in NETWORK_TABLES} == {t: before[t] for t in NETWORK_TABLES}
    with api.sessions() as session:  # the file is not kept once the job ended
        assert session.scalar(select(JobRecord.upload).where(JobRecord.id == job["id"])) is None


def test_an_import_succeeds_with_a_link_to_its_network(api: Api, generated_data: Path) -> None:
    data = (generated_data / "dataset_small.json").read_bytes()
    answer = api.post("in-analyst", f"{API}/networks", files={"file": ("dataset_small.json", data)}, data={})
    job = api.finished("in-analyst", answer)
    assert job["status"] == "succeeded" and job["kind"] == "network.import", job
    network = api.get("in-analyst", job["result_url"])
    assert network.status_code == 200 and network.json()["id"] == job["result_id"] == job["result"]["network_id"]
    assert api.get("us-analyst", f"{API}/jobs/{job['id']}").status_code == 404


@pytest.mark.parametrize(
    ("filename", "data", "form", "status"),
    [
        ("network.txt", b"hello", {}, 422),
        ("empty.json", b"", {}, 422),
        ("x.json", b"{}", {"classification": "SECRET"}, 403),
        ("x.json", b"{}", {"format": "excel"}, 422),
    ],
)
def test_cheap_bad_input_is_refused_at_once_and_queues_nothing(
    api: Api, filename: str, data: bytes, form: dict[str, str], status: int
) -> None:
    answer = api.post("in-analyst", f"{API}/networks", files={"file": (filename, data)}, data=form)
    assert answer.status_code == status, answer.text
    assert jobs_stored(api) == 0


def test_a_file_over_the_limit_is_413_and_queues_nothing(engine: Engine, sessions: Factory) -> None:
    for api in make_api(engine, sessions, replace(TEST_SETTINGS, max_upload_bytes=64)):
        answer = api.post("in-analyst", f"{API}/networks", files={"file": ("big.json", b"{" + b" " * 200 + b"}")})
        assert answer.status_code == 413 and jobs_stored(api) == 0
