"""Reference sweeps: the run a reader's figures come from is on exactly their view, and nothing ad hoc replaces it."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from clients import TEST_SETTINGS, Api, csrf_of, execute_here, make_api, sign_in
from networks.world import IN_ONLY_NODES, audit_count, small_network
from principals import (
    ENGINE_NTK,
    HAL_PROPRIETARY,
    IN_ADMIN,
    IN_ANALYST,
    IN_ONLY,
    SHARED,
    US_ADMIN,
    US_ANALYST,
    US_ONLY,
    seed,
)
from setu.errors import AccessDenied, InputError, NotFound
from setu.models.networks import NodeRecord
from setu.models.stress import ResultRecord, RunRecord
from setu.network.io.setu_format import write_setu
from setu.networks import import_network
from setu.networks.stamps import view_digest
from setu.runs import delete_run, rename_run, start_run
from setu.runs.recent import recent_networks
from setu.runs.reference import chosen_run, reference_run, start_reference_sweep
from setu.runs.service import RunStateError
from setu.sharing.markings import MarkingSpec, store
from setu.sharing.policy import Principal, allows

Factory = sessionmaker[Session]
API = "/api/v1"


def store_network(session: Session, marks: dict[str, MarkingSpec] | None = None, name: str = "small") -> int:
    """The small network, shared with both parties, with the India-only nodes India-only (or ``marks``)."""
    chosen = dict.fromkeys(IN_ONLY_NODES, IN_ONLY) if marks is None else marks
    network = small_network()
    stored = import_network(
        session, IN_ANALYST, network, name=name, format="accelerator", source="t", marking=SHARED, node_markings=chosen
    )
    return stored.id


@pytest.fixture
def shared(sessions: Factory) -> int:
    with sessions() as session, session.begin():
        seed(session)
        return store_network(session)


def remark(session: Session, network_id: int, node_id: str, spec: MarkingSpec) -> None:
    marking_id = store(session, spec).id
    where = (NodeRecord.network_id == network_id, NodeRecord.node_id == node_id)
    session.execute(update(NodeRecord).where(*where).values(marking_id=marking_id))


def computed(sessions: Factory, principal: Principal, network_id: int, *, reference: bool = True, **kw: object) -> int:
    with sessions() as session, session.begin():
        if reference:
            run_id = start_reference_sweep(session, principal, network_id).id
        else:
            run_id = start_run(session, principal, network_id, "sweep", **kw).id  # type: ignore[arg-type]
    assert execute_here(sessions, run_id, principal).status == "completed"
    return run_id


def reference_of(sessions: Factory, principal: Principal, network_id: int) -> int | None:
    with sessions() as session:
        run = reference_run(session, principal, network_id).run
        return None if run is None else run.id


# --- the view's digest ---------------------------------------------------------------------------------


def test_the_digest_tells_views_apart_and_follows_markings(sessions: Factory, shared: int) -> None:
    with sessions() as session:
        ours, theirs = view_digest(session, IN_ANALYST, shared), view_digest(session, US_ANALYST, shared)
        admin = view_digest(session, IN_ADMIN, shared)
    assert len(ours) == 64 and ours != theirs
    assert admin == ours  # the same records under the same markings: the same view (groups aside)
    # A marking changed on one node the US analyst sees changes their view, not only what they see.
    with sessions() as session, session.begin():
        us_only = store(session, US_ONLY).id
        session.execute(
            update(NodeRecord)
            .where(NodeRecord.network_id == shared, NodeRecord.node_id == "T3_1")
            .values(marking_id=us_only)
        )
    with sessions() as session:
        assert view_digest(session, US_ANALYST, shared) != theirs
        assert view_digest(session, IN_ANALYST, shared) != ours  # the node left the Indian view
        assert view_digest(session, US_ANALYST, shared + 1000) == ""


MARKS = st.dictionaries(
    st.sampled_from([n.id for n in small_network().nodes]),
    st.sampled_from([IN_ONLY, US_ONLY, ENGINE_NTK, HAL_PROPRIETARY]),
    max_size=8,
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(marks=MARKS)
def test_two_readers_share_a_digest_exactly_when_they_read_the_same_nodes(
    sessions: Factory, engine: Engine, marks: dict[str, MarkingSpec]
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("one database is enough for the property; the others check both")
    with sessions() as session, session.begin():
        if not _seeded(session):  # the database lives across the examples
            seed(session)
        network_id = store_network(session, {})
        for node_id, spec in marks.items():  # as an operator would: the importer could not assign US-only
            remark(session, network_id, node_id, spec)
    readers = (IN_ANALYST, US_ANALYST, IN_ADMIN)

    def nodes(principal: Principal) -> frozenset[tuple[str, MarkingSpec]]:
        return frozenset(
            (n.id, marks.get(n.id, SHARED)) for n in small_network().nodes if allows(principal, marks.get(n.id, SHARED))
        )

    with sessions() as session:
        digests = {p: view_digest(session, p, network_id) for p in readers}
    for a in readers:
        for b in readers:
            assert (digests[a] == digests[b]) == (nodes(a) == nodes(b)), (a.user_id, b.user_id)


def _seeded(session: Session) -> bool:
    from setu.models.parties import Party

    return session.scalar(select(func.count()).select_from(Party)) != 0


# --- which run is the reader's -------------------------------------------------------------------------


def test_an_ad_hoc_run_never_replaces_the_reference_sweep(sessions: Factory, shared: int) -> None:
    reference = computed(sessions, IN_ANALYST, shared)
    adhoc = computed(sessions, IN_ANALYST, shared, reference=False, ttr=0.5)
    assert adhoc > reference
    assert reference_of(sessions, IN_ANALYST, shared) == reference
    with sessions() as session:
        picked = chosen_run(session, IN_ANALYST, shared, adhoc)
        assert picked.run is not None and picked.run.id == adhoc and not picked.reference
        again = chosen_run(session, IN_ANALYST, shared, reference)
        assert again.reference


def test_a_partners_sweep_on_a_narrower_view_is_never_the_readers_reference(sessions: Factory, shared: int) -> None:
    # The US analyst does not see the India-only nodes: their sweep is marked for both parties, so the
    # Indian analyst may read it, but its figures leave out what India sees. It must not be India's picture.
    theirs = computed(sessions, US_ANALYST, shared)
    with sessions() as session:
        assert session.get(RunRecord, theirs) is not None
        choice = reference_run(session, IN_ANALYST, shared)
        assert choice.run is None and choice.stale
        assert reference_run(session, US_ANALYST, shared).run.id == theirs  # type: ignore[union-attr]
    ours = computed(sessions, IN_ANALYST, shared)
    assert reference_of(sessions, IN_ANALYST, shared) == ours
    assert reference_of(sessions, US_ANALYST, shared) == theirs  # India's sweep is India-only: unreadable to the US


def test_a_reference_sweep_computed_before_a_marking_changed_is_not_used(sessions: Factory, shared: int) -> None:
    before = computed(sessions, US_ANALYST, shared)
    with sessions() as session, session.begin():
        us_only = store(session, US_ONLY).id
        session.execute(
            update(NodeRecord)
            .where(NodeRecord.network_id == shared, NodeRecord.node_id == "T3_1")
            .values(marking_id=us_only)
        )
    with sessions() as session:
        choice = reference_run(session, US_ANALYST, shared)
    assert choice.run is None and choice.stale
    after = computed(sessions, US_ANALYST, shared)
    assert after != before and reference_of(sessions, US_ANALYST, shared) == after


def test_a_queued_reference_sweep_is_pending_until_it_completes(sessions: Factory, shared: int) -> None:
    done = computed(sessions, IN_ANALYST, shared)
    with sessions() as session, session.begin():
        queued = start_reference_sweep(session, IN_ANALYST, shared).id
    with sessions() as session:
        choice = reference_run(session, IN_ANALYST, shared)
    assert (
        choice.run is not None and choice.run.id == done and choice.pending is not None and choice.pending.id == queued
    )


def test_a_reference_run_is_the_plain_sweep(sessions: Factory, shared: int) -> None:
    with sessions() as session:
        for kwargs in ({"ttr": 3.0}, {"compute_tts": False}):
            with pytest.raises(InputError, match="reference"):
                start_run(session, IN_ANALYST, shared, "sweep", reference=True, **kwargs)  # type: ignore[arg-type]
        with pytest.raises(InputError, match="reference"):
            start_run(session, IN_ANALYST, shared, [1], reference=True)
        with pytest.raises(InputError, match="name: at most 200"):
            start_run(session, IN_ANALYST, shared, "sweep", name="x" * 201)
        with pytest.raises(InputError, match="control"):
            start_run(session, IN_ANALYST, shared, "sweep", name="a\nb")


def test_a_picked_run_must_be_visible_completed_and_of_the_network(sessions: Factory, shared: int) -> None:
    ours = computed(sessions, IN_ANALYST, shared)
    with sessions() as session, session.begin():
        other = store_network(session, name="other")
        queued = start_run(session, IN_ANALYST, shared, "sweep").id
    with sessions() as session:
        with pytest.raises(NotFound):
            chosen_run(session, US_ANALYST, shared, ours)  # India-only: as if it did not exist
        with pytest.raises(InputError, match="another network"):
            chosen_run(session, IN_ANALYST, other, ours)
        with pytest.raises(InputError, match="queued"):
            chosen_run(session, IN_ANALYST, shared, queued)


# --- names, deletion ---------------------------------------------------------------------------------


def test_only_the_starter_or_an_admin_of_its_party_renames_or_deletes_and_results_go_with_the_run(
    sessions: Factory, shared: int
) -> None:
    theirs = computed(sessions, US_ANALYST, shared)  # readable by the Indian analyst and admin
    with sessions() as session, pytest.raises(AccessDenied):
        rename_run(session, IN_ANALYST, theirs, "mine now")
    with sessions() as session, pytest.raises(AccessDenied):
        delete_run(session, IN_ANALYST, theirs)
    with sessions() as session, session.begin():
        assert rename_run(session, US_ANALYST, theirs, "  Titanium, 26 weeks ").name == "Titanium, 26 weeks"
    with sessions() as session, session.begin():
        queued = start_run(session, US_ANALYST, shared, "sweep").id
    with sessions() as session, pytest.raises(RunStateError, match="cancel it"):
        delete_run(session, US_ANALYST, queued)
    with sessions() as session, pytest.raises(AccessDenied, match="of its own party"):
        delete_run(session, IN_ADMIN, theirs)  # the other party's admin: not theirs to take away
    with sessions() as session, session.begin():
        delete_run(session, US_ADMIN, theirs)
    with sessions() as session:
        assert session.get(RunRecord, theirs) is None
        assert session.scalar(select(func.count()).where(ResultRecord.run_id == theirs)) == 0
        assert reference_of(sessions, US_ANALYST, shared) is None
        assert audit_count(session, "run.rename") == 1 and audit_count(session, "run.rename", "deny") == 1
        assert audit_count(session, "run.delete") == 1 and audit_count(session, "run.delete", "deny") == 2


def test_the_most_recent_network_is_the_one_the_user_last_worked_on(sessions: Factory, shared: int) -> None:
    with sessions() as session, session.begin():
        newer = store_network(session, name="aardvark")  # sorts first, imported last
    with sessions() as session:
        assert [n.id for n in recent_networks(session, US_ANALYST)] == [newer, shared]
    computed(sessions, US_ANALYST, shared)
    with sessions() as session:
        assert recent_networks(session, US_ANALYST)[0].id == shared
        assert recent_networks(session, IN_ANALYST)[0].id == newer  # India imported it last


# --- over HTTP: the API, the dashboard, the import -----------------------------------------------------


@pytest.fixture
def web(engine: Engine, sessions: Factory) -> Iterator[Api]:
    settings = dataclasses.replace(TEST_SETTINGS, reference_on_import=True)

    def prepare(session: Session) -> None:
        seed(session)
        store_network(session)

    yield from make_api(engine, sessions, settings, prepare)


def network_of(api: Api) -> int:
    network_id: int = api.get("us-analyst", f"{API}/networks").json()["items"][0]["id"]
    return network_id


def test_the_api_names_references_renames_and_deletes_runs(web: Api) -> None:
    nid = network_of(web)
    assert web.get("us-analyst", f"{API}/runs/reference", params={"network_id": nid}).json() == {
        "run": None,
        "pending": None,
        "other_views": False,
    }
    bad = web.post("us-analyst", f"{API}/runs", json={"network_id": nid, "sweep": True, "reference": True, "ttr": 2})
    assert bad.status_code == 422 and "reference run is the sweep" in bad.text
    started = web.post("us-analyst", f"{API}/runs", json={"network_id": nid, "sweep": True, "reference": True})
    assert started.status_code == 202 and started.json()["name"] == "Reference sweep" and started.json()["reference"]
    run = web.wait("us-analyst", started.json()["id"])
    assert run["started_by"] == "you" and run["origin_party"] == "US"
    adhoc = web.post("us-analyst", f"{API}/runs", json={"network_id": nid, "sweep": True, "ttr": 1, "name": "short"})
    assert web.wait("us-analyst", adhoc.json()["id"])["name"] == "short"
    mine = web.get("us-analyst", f"{API}/runs/reference", params={"network_id": nid}).json()
    assert mine["run"]["id"] == run["id"] and mine["pending"] is None
    india = web.get("in-analyst", f"{API}/runs/reference", params={"network_id": nid}).json()
    assert india == {"run": None, "pending": None, "other_views": True}
    assert web.get("in-analyst", f"{API}/runs/{run['id']}").json()["started_by"] in ("", "us-analyst")
    # Rename: the starter only; a bad name is refused with its field.
    url = f"{API}/runs/{run['id']}"
    assert web.client.patch(url, json={"name": "x"}, headers=web.auth("in-analyst")).status_code == 403
    too_long = web.client.patch(url, json={"name": "x" * 201}, headers=web.auth("us-analyst"))
    assert too_long.status_code == 422 and "name" in too_long.text
    renamed = web.client.patch(url, json={"name": "Baseline, week 49"}, headers=web.auth("us-analyst"))
    assert renamed.status_code == 200 and renamed.json()["name"] == "Baseline, week 49"
    # Delete: hidden runs are 404, others' 403; the results go too.
    assert web.client.delete(url, headers=web.auth("in-analyst")).status_code == 403
    assert web.client.delete(f"{API}/runs/99999", headers=web.auth("us-analyst")).status_code == 404
    assert web.client.delete(url, headers=web.auth("us-analyst")).status_code == 204
    assert web.get("us-analyst", url).status_code == 404
    assert web.get("us-analyst", f"{API}/runs/reference", params={"network_id": nid}).json()["run"] is None


def test_an_ad_hoc_run_does_not_change_the_dashboard(web: Api) -> None:
    nid = network_of(web)
    started = web.post("us-analyst", f"{API}/runs", json={"network_id": nid, "sweep": True, "reference": True})
    reference = web.wait("us-analyst", started.json()["id"])["id"]
    sign_in(web.client, "us-analyst")
    before = web.client.get("/").text
    assert "Risk figures from your reference sweep" in before and f'href="/runs/{reference}"' in before
    # One scenario, a TTR short enough that nothing is lost: the old dashboard turned white on this.
    adhoc = web.post("us-analyst", f"{API}/runs", json={"network_id": nid, "sweep": True, "ttr": 0.01})
    adhoc_id = web.wait("us-analyst", adhoc.json()["id"])["id"]
    after = web.client.get("/").text
    assert _overview(after) == _overview(before)
    # Picked on purpose, it shows, and says it is not the reference.
    picked = web.client.get("/", params={"network": nid, "run": adhoc_id}).text
    assert "a run you picked, not your reference sweep" in picked and f'href="/runs/{adhoc_id}"' in picked
    assert web.client.get("/", params={"run": adhoc_id}).status_code == 422
    assert web.client.get("/", params={"network": nid, "run": 99999}).status_code == 404


def _overview(page: str) -> str:
    start = page.index('data-testid="overview"')
    return page[start : page.index("</section>", start)]


def test_the_dashboard_offers_the_reference_sweep_to_analysts_only(web: Api) -> None:
    nid = network_of(web)
    sign_in(web.client, "in-industry")
    text = web.client.get("/").text
    assert 'data-testid="no-run"' in text and 'data-testid="reference-form"' not in text
    sign_in(web.client, "us-analyst")
    text = web.client.get("/").text
    assert 'data-testid="reference-form"' in text
    answer = web.client.post(
        "/dashboard/reference", data={"network": nid, "csrf": csrf_of(text)}, follow_redirects=False
    )
    assert answer.status_code == 303 and answer.headers["location"].startswith("/runs/")
    run_id = int(answer.headers["location"].rsplit("/", 1)[1])
    assert web.wait("us-analyst", run_id)["reference"] is True
    text = web.client.get("/").text
    assert f'href="/runs/{run_id}"' in text and 'data-testid="reference-form"' not in text
    sign_in(web.client, "in-industry")
    page = web.client.get("/").text
    refused = web.client.post("/dashboard/reference", data={"network": nid, "csrf": csrf_of(page)})
    assert refused.status_code == 403


def test_an_import_queues_the_importers_reference_sweep(web: Api, tmp_path: Path) -> None:
    path = write_setu(small_network(), tmp_path / "small.xlsx")
    answer = web.post(
        "us-analyst", f"{API}/networks", files={"file": ("small.xlsx", path.read_bytes())}, data={"releases": ["US"]}
    )
    assert answer.status_code == 202, answer.text
    job = web.finished("us-analyst", answer)
    assert job["status"] == "succeeded", job
    run_id = job["result"]["reference_run_id"]
    assert isinstance(run_id, int) and job["result"]["reference_note"] == "queued"
    run = web.wait("us-analyst", run_id)
    assert run["status"] == "completed" and run["reference"] and run["network_id"] == job["result"]["network_id"]


def test_an_import_whose_sweep_cannot_be_queued_still_stores_the_network(web: Api, tmp_path: Path) -> None:
    # No node has a TTR estimate: the sweep has no TTR to run with, and says so; the import stands.
    network = small_network()
    network.nodes = [dataclasses.replace(node, ttr=None) for node in network.nodes]
    path = write_setu(network, tmp_path / "no-ttr.xlsx")
    answer = web.post("us-analyst", f"{API}/networks", files={"file": ("no-ttr.xlsx", path.read_bytes())})
    job = web.finished("us-analyst", answer)
    assert job["status"] == "succeeded", job
    assert job["result"]["reference_run_id"] is None and job["result"]["reference_note"].startswith("not queued: ")
    stored = web.get("us-analyst", f"{API}/networks/{job['result']['network_id']}")
    assert stored.status_code == 200


def test_a_reference_sweep_the_view_cannot_run_is_refused_with_the_reason(web: Api, sessions: Factory) -> None:
    network = small_network()
    network.nodes = [dataclasses.replace(node, ttr=None) for node in network.nodes]
    with sessions() as session, session.begin():
        no_ttr = import_network(
            session, IN_ANALYST, network, name="no ttr", format="accelerator", source="t", marking=SHARED
        ).id
    sign_in(web.client, "us-analyst")
    page = web.client.get("/").text
    answer = web.client.post("/dashboard/reference", data={"network": no_ttr, "csrf": csrf_of(page)})
    assert answer.status_code == 422 and "TTR" in answer.text and 'data-testid="refused"' in answer.text  # a page
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(RunRecord).where(RunRecord.network_id == no_ttr)) == 0
