"""The stress-test pages: scenario library and form, runs with progress, results, chart, explanation, downloads."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from clients import TEST_SETTINGS, Api, csrf_of, csv_export_rows, make_api, sign_in
from networks.world import IN_ONLY_NODES, SECRET_WORDS, build_world
from setu.models.stress import ResultRecord, RunRecord, ScenarioRecord
from setu.network.model import Network
from setu.networks.views import compiled_view
from setu.report.charts import fmt
from setu.runs.service import start_run
from setu.stress.explain import explain
from setu.stress.scenarios import Scenario

ROW = re.compile(r'<tr(?: class="at-risk")? data-scenario="([^"]*)">')


def library(client: TestClient) -> tuple[int, str]:
    """The network the scenario page opens on, and the page."""
    page = client.get("/runs/scenarios")
    assert page.status_code == 200, page.text
    found = re.search(r'name="network" value="(\d+)"', page.text)
    assert found, "no network form on the scenario page"
    return int(found.group(1)), page.text


def create(client: TestClient, network: int, **fields: str) -> Any:
    """Submit the new-scenario form."""
    _nid, page = library(client)
    data = {"csrf": csrf_of(page), "network": str(network), **fields}
    return client.post("/runs/scenarios", data=data, follow_redirects=False)


def stored_pk(client: TestClient, network: int, scenario_id: str) -> int:
    """The stored id of a scenario, read from its run checkbox in the library."""
    page = client.get("/runs/scenarios", params={"network": network}).text
    found = re.search(
        r'name="scenario" value="(\d+)"[^>]*aria-label="Run ' + re.escape(html.escape(scenario_id)) + '"', page
    )
    assert found, f"no scenario {scenario_id} in the library"
    return int(found.group(1))


def start(client: TestClient, network: int, **fields: Any) -> int:
    """Submit the run form; the id of the run it redirects to."""
    _nid, page = library(client)
    answer = client.post(
        "/runs", data={"csrf": csrf_of(page), "network": str(network), **fields}, follow_redirects=False
    )
    assert answer.status_code == 303, answer.text
    found = re.fullmatch(r"/runs/(\d+)", answer.headers["location"])
    assert found, answer.headers["location"]
    return int(found.group(1))


def rows_of(page: str) -> list[str]:
    return [html.unescape(s) for s in ROW.findall(page)]


def scenario_count(web: Api) -> int:
    with web.sessions() as session:
        return session.scalar(select(func.count()).select_from(ScenarioRecord)) or 0


def results_api(web: Api, user: str, run_id: int, **params: Any) -> dict[str, Any]:
    answer = web.get(user, f"/api/v1/runs/{run_id}/results", params=params)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_a_country_scenario_made_with_the_form_runs_and_explains_itself(web: Api) -> None:
    client = web.client
    sign_in(client, "in-analyst")
    network, page = library(client)
    # The form offers every kind the engine builds, and visible values to complete the target.
    for kind in ("node", "site", "organization", "party", "country", "material", "chokepoint", "export_control"):
        assert f'<option value="{kind}"' in page
    assert 'list="targets"' in page and '<option value="US" label="country · ' in page
    created = create(client, network, kind="country", value="US", ttr="40")
    assert created.status_code == 303 and created.headers["location"].startswith(f"/runs/scenarios?network={network}")
    shown = client.get(created.headers["location"]).text
    assert "country:US" in shown and "The scenario was created" in shown and "Country" in shown
    pk = stored_pk(client, network, "country:US")

    run_id = start(client, network, mode="selected", scenario=str(pk))
    progress = client.get(f"/runs/{run_id}").text
    assert 'id="run-progress"' in progress and f'data-run-id="{run_id}"' in progress
    assert web.wait("in-analyst", run_id)["status"] == "completed"
    done = client.get(f"/runs/{run_id}").text
    assert "Completed: 1 scenario" in done and '<script src="/static/run.js"' not in done
    assert 'http-equiv="refresh"' not in done and "Cancel the run" not in done
    assert rows_of(done) == ["country:US"]

    # The explanation is the engine's, on the analyst's own view of the network.
    answer = client.get(f"/runs/{run_id}/scenarios/country:US/explain")
    assert answer.status_code == 200, answer.text
    with web.sessions() as session:
        record = session.scalars(select(ScenarioRecord).where(ScenarioRecord.id == pk)).one()
        view, _ = compiled_view(session, web.principals["in-analyst"], network)
    expected = explain(view, Scenario("country:US", tuple(record.nodes), 40.0, None, "country", record.label))
    text = html.unescape(answer.text)
    assert f"{fmt(expected.lost_profit)} " in text and f"{fmt(expected.tts)} " in text
    assert expected.losses, "a US outage for 40 time units should lose something"
    for loss in expected.losses:
        assert f'<tr><td>{loss.product}</td><td class="num">{fmt(loss.lost_units, 1)}</td>' in text
        assert f"<td>{loss.binding}</td>" in text
    for flow in expected.rerouted[:50]:
        assert f"<tr><td>{flow.supplier}</td><td>{flow.customer}</td><td>{flow.material}</td>" in text
    assert len(re.findall(r"<tr><td>", text.split('data-testid="rerouted"')[-1])) == min(50, len(expected.rerouted))
    assert ("TTS &lt; TTR" in answer.text) == (expected.tts < 40.0)
    # A view that runs short with nothing disrupted says so, so the loss is not all put on the disruption.
    assert ('data-testid="base-short"' in answer.text) == (expected.base_tts < 40.0)
    assert client.get(f"/runs/{run_id}/scenarios/no-such/explain").status_code == 404


def test_results_sort_filter_page_chart_ranking_and_downloads(web: Api) -> None:
    client = web.client
    sign_in(client, "in-analyst")
    network, _page = library(client)
    run_id = start(client, network, mode="sweep")
    assert web.wait("in-analyst", run_id)["status"] == "completed"
    everything = results_api(web, "in-analyst", run_id, limit=1000)
    total = everything["total"]
    assert total > 25, "the sweep should need two pages"

    for sort in ("rei", "-rei", "label", "-label", "tts", "-tts"):
        page = client.get(f"/runs/{run_id}", params={"sort": sort})
        assert page.status_code == 200
        expected = [r["scenario_id"] for r in results_api(web, "in-analyst", run_id, sort=sort, limit=25)["items"]]
        assert rows_of(page.text) == expected, sort
        field = sort.removeprefix("-")
        order = "descending" if sort.startswith("-") else "ascending"
        assert len(re.findall(r"aria-sort=", page.text)) == 1
        header = re.search(r'<th scope="col" class="\w+" aria-sort="(\w+)"><a href="\?sort=([^&"]+)', page.text)
        assert header and header.group(1) == order
        # Clicking the sorted header asks for the other direction.
        assert header.group(2) == (field if sort.startswith("-") else f"-{field}")
    ascending = rows_of(client.get(f"/runs/{run_id}", params={"sort": "rei"}).text)
    descending = rows_of(client.get(f"/runs/{run_id}", params={"sort": "-rei"}).text)
    assert ascending != descending

    second = client.get(f"/runs/{run_id}", params={"sort": "-rei", "page": 2}).text
    expected = results_api(web, "in-analyst", run_id, sort="-rei", offset=25, limit=25)["items"]
    assert rows_of(second) == [r["scenario_id"] for r in expected]
    assert f"Results 26 to {total} of {total}" in second

    at_risk = [r for r in everything["items"] if r["at_risk"]]
    assert 0 < len(at_risk) < total
    risky = client.get(f"/runs/{run_id}", params={"at_risk": "true"}).text
    assert len(at_risk) <= 25 and set(rows_of(risky)) == {r["scenario_id"] for r in at_risk}
    assert risky.count('<tr class="at-risk"') == len(rows_of(risky)) == len(at_risk)
    assert f"<strong>{len(at_risk)}</strong> of {total} scenarios have TTS &lt; TTR" in risky
    searched = client.get(f"/runs/{run_id}", params={"q": "T3_2"}).text
    wanted = {r["scenario_id"] for r in everything["items"] if "T3_2" in r["scenario_id"] + r["label"]}
    assert set(rows_of(searched)) == wanted and wanted

    # The chart draws every result, the ones with TTS < TTR highlighted, and says how many.
    full = client.get(f"/runs/{run_id}").text
    chart = full.split('data-testid="chart"')[1].split("</svg>")[0]
    assert chart.count('class="at-risk"') == len(at_risk)
    assert chart.count('class="at-risk"') + chart.count('class="survives"') == total
    assert f"{len(at_risk)} of the {total} scenarios charted have TTS &lt; TTR" in full
    alternative = full.split('data-testid="chart-table"')[1].split("</table>")[0]
    assert alternative.count("<tr><td>") == len(at_risk)
    ranking = full.split('data-testid="rei"')[1].split("</figure>")[0]
    best = max(everything["items"], key=lambda r: r["rei"])
    assert 'aria-label="REI ranking"' in ranking and html.escape(best["label"]) in ranking

    for kind in ("csv", "json", "parquet", "xlsx"):
        link = f'href="/api/v1/runs/{run_id}/export?format={kind}"'
        assert link in full
        download = client.get(f"/api/v1/runs/{run_id}/export", params={"format": kind})
        assert download.status_code == 200 and download.headers["x-setu-marking"]
    rows = csv_export_rows(client.get(f"/api/v1/runs/{run_id}/export?format=csv").text)
    assert len(rows) == total
    assert len(client.get(f"/api/v1/runs/{run_id}/export?format=json").json()["results"]) == total

    listing = client.get("/runs").text
    assert f'href="/runs/{run_id}"' in listing and "completed" in listing and "node sweep" in listing


def test_forms_refuse_a_bad_token_and_bad_input_stores_nothing(web: Api) -> None:
    client = web.client
    sign_in(client, "us-analyst")
    network, page = library(client)
    before = scenario_count(web)
    forged = client.post(
        "/runs/scenarios", data={"csrf": "0" * 64, "network": network, "kind": "country", "value": "US"}
    )
    assert forged.status_code == 403 and "did not come from Setu" in forged.text
    bad = {
        "TTR must be a number": {"kind": "country", "value": "US", "ttr": "soon"},
        "Severity must be between 0 and 1": {"kind": "custom", "nodes": "T1_1", "severity": "2"},
        "country &#39;Atlantis&#39; names no country (a name or an ISO code, e.g. CN or China)": {
            "kind": "country",
            "value": "Atlantis",
        },
        "needs at least one node id": {"kind": "node", "nodes": " , "},
        "needs materials and countries": {"kind": "export_control", "materials": "aac"},
        "no node &#39;NOPE&#39; on this network": {"kind": "node", "nodes": "NOPE"},
        "not one": {"kind": "wormhole", "value": "x"},
    }
    for message, fields in bad.items():
        answer = create(client, network, **fields)
        assert answer.status_code == 422, (message, answer.text)
        assert message in answer.text and 'data-testid="form-errors"' in answer.text, message
        for name, value in fields.items():
            if name not in ("kind",) and value.strip(" ,"):
                assert f'value="{html.escape(value)}"' in answer.text, (name, answer.text)
    # A node the user may not see is refused exactly like one that does not exist.
    hidden = create(client, network, kind="node", nodes=IN_ONLY_NODES[0])
    assert hidden.status_code == 422 and f"no node &#39;{IN_ONLY_NODES[0]}&#39; on this network" in hidden.text
    assert scenario_count(web) == before

    assert create(client, network, kind="organization", value="GE Aerospace").status_code == 303
    duplicate = create(client, network, kind="organization", value="GE Aerospace")
    assert duplicate.status_code == 422 and "you already have a scenario" in duplicate.text
    assert scenario_count(web) == before + 1
    # Severities reach the stored scenario: one for every node of a custom set or an export-control rule.
    rule = create(client, network, kind="export_control", materials="aae", countries="US", severity="0.5", ttr="12")
    custom = create(client, network, kind="custom", nodes="T2_1; T2_2", severity="0.25", scenario_id="two forges")
    assert rule.status_code == custom.status_code == 303
    with web.sessions() as session:
        made = {r.kind: r for r in session.scalars(select(ScenarioRecord))}
    assert made["export_control"].severities == [0.5] * len(made["export_control"].nodes)
    assert made["export_control"].ttr == 12 and made["export_control"].nodes
    assert made["custom"].nodes == ["T2_1", "T2_2"] and made["custom"].severities == [0.25, 0.25]
    assert made["custom"].scenario_id == "two forges"
    assert scenario_count(web) == before + 3

    with web.sessions() as session:
        runs_before = session.scalar(select(func.count()).select_from(RunRecord)) or 0
    forged_run = client.post("/runs", data={"csrf": "bad", "network": network, "mode": "sweep"})
    assert forged_run.status_code == 403
    nothing = client.post("/runs", data={"csrf": csrf_of(page), "network": network, "mode": "selected"})
    assert nothing.status_code == 422 and "choose at least one scenario" in nothing.text
    bad_ttr = client.post("/runs", data={"csrf": csrf_of(page), "network": network, "mode": "sweep", "ttr": "-1"})
    assert bad_ttr.status_code == 422 and "TTR must be between" in bad_ttr.text
    with web.sessions() as session:
        assert (session.scalar(select(func.count()).select_from(RunRecord)) or 0) == runs_before

    run_id = start(client, network, mode="sweep")
    assert client.post(f"/runs/{run_id}/cancel", data={"csrf": "bad"}).status_code == 403
    web.wait("us-analyst", run_id)
    late = client.post(f"/runs/{run_id}/cancel", data={"csrf": csrf_of(page)})
    assert late.status_code == 409 and "already ended: completed" in late.text

    sign_in(client, "us-industry")
    industry = client.get("/runs/scenarios").text
    assert "needs the analyst or admin role" in industry and 'action="/runs"' not in industry.split("<main")[1]
    form = {"csrf": csrf_of(industry), "network": network, "kind": "party", "value": "US"}
    refused = client.post("/runs/scenarios", data=form)
    assert refused.status_code == 403 and scenario_count(web) == before + 3


def test_the_us_analyst_never_sees_india_only_records(web: Api) -> None:
    client = web.client
    sign_in(client, "in-analyst")
    network, in_page = library(client)
    # The Indian analyst is offered the India-only values: the check below is not vacuous.
    assert "Vikram Alloys" in in_page and IN_ONLY_NODES[0] in in_page
    in_run = start(client, network, mode="sweep")
    assert web.wait("in-analyst", in_run)["status"] == "completed"
    in_results = client.get(f"/runs/{in_run}").text
    assert IN_ONLY_NODES[0] in in_results
    in_explain = f"/runs/{in_run}/scenarios/{IN_ONLY_NODES[0]}/explain"
    assert client.get(in_explain).status_code == 200

    sign_in(client, "us-analyst")
    _nid, page = library(client)
    assert create(client, network, kind="country", value="IN").status_code == 303
    pk = stored_pk(client, network, "country:IN")
    runs = [start(client, network, mode="selected", scenario=str(pk)), start(client, network, mode="sweep")]
    for run_id in runs:
        assert web.wait("us-analyst", run_id)["status"] == "completed"
    pages = {
        "library": client.get("/runs/scenarios", params={"network": network}).text,
        "runs": client.get("/runs").text,
        "explanation": client.get(f"/runs/{runs[0]}/scenarios/country:IN/explain").text,
    }
    for run_id in runs:
        pages[f"run {run_id}"] = client.get(f"/runs/{run_id}").text
        pages[f"run {run_id} at risk"] = client.get(f"/runs/{run_id}", params={"at_risk": "true"}).text
        for n in (2, 3):
            pages[f"run {run_id} page {n}"] = client.get(f"/runs/{run_id}", params={"page": n}).text
        pages[f"run {run_id} csv"] = client.get(f"/api/v1/runs/{run_id}/export?format=csv").text
    assert "country:IN" in pages["library"] and "Products that lose" in pages["explanation"]
    for name, text in pages.items():
        for word in SECRET_WORDS:
            assert word not in text, (name, word)
    # The Indian analyst's India-only run is answered as one that does not exist, everywhere.
    missing = client.get("/runs/999999")
    hidden = client.get(f"/runs/{in_run}")
    assert hidden.status_code == missing.status_code == 404 and hidden.text == missing.text
    assert f'href="/runs/{in_run}"' not in pages["runs"]
    explained = client.get(in_explain)
    assert explained.status_code == 404 and explained.text == missing.text
    assert client.get(f"/runs/{in_run}/scenarios/T1_1/explain").text == missing.text
    cancel = client.post(f"/runs/{in_run}/cancel", data={"csrf": csrf_of(page)})
    assert cancel.status_code == 404 and cancel.text == missing.text
    assert client.get(f"/api/v1/runs/{in_run}/export?format=csv").status_code == 404
    with web.sessions() as session:
        in_rows = session.scalar(select(func.count()).where(ResultRecord.run_id == in_run)) or 0
    assert in_rows > 0


@pytest.fixture
def idle(engine: Engine, sessions: sessionmaker[Session], world: Network) -> Iterator[Api]:
    """The world app with no run worker: a queued run stays queued."""
    settings = replace(TEST_SETTINGS, run_workers=0)
    yield from make_api(engine, sessions, settings, lambda session: build_world(session, world))


def test_a_queued_run_page_follows_itself_with_or_without_scripts(idle: Api) -> None:
    web = idle
    client = web.client
    sign_in(client, "us-analyst")
    network, page = library(client)
    with web.sessions() as session:
        # Queued, no worker yet: the page must keep following it.
        run_id = start_run(session, web.principals["us-analyst"], network, "sweep").id
        session.commit()
    queued = client.get(f"/runs/{run_id}").text
    assert "Queued: waiting to start." in queued
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in queued
    assert '<script src="/static/run.js" defer></script>' in queued
    assert f'data-run-id="{run_id}"' in queued and 'value="0"' in queued
    assert f'action="/runs/{run_id}/cancel"' in queued and 'data-testid="results"' not in queued
    assert client.get(f"/runs/{run_id}/scenarios/T2_1/explain").status_code == 409
    for asset in ("/static/run.js", "/static/stress.css"):
        answer = client.get(asset)
        assert answer.status_code == 200 and "http://" not in answer.text and "https://" not in answer.text
    assert "/api/v1/runs/" in client.get("/static/run.js").text
    assert client.get("/runs/scenarios", params={"network": 999_999}).status_code == 404
    # Cancelled from the page though no worker of this app ever held it: the queue is the database.
    cancelled = client.post(f"/runs/{run_id}/cancel", data={"csrf": csrf_of(page)}, follow_redirects=False)
    assert cancelled.status_code == 303, cancelled.text
    assert "Cancelled" in client.get(f"/runs/{run_id}").text
    assert client.get("/runs/99999999999").status_code == 404


def test_the_library_says_who_stored_each_scenario_of_the_same_name(web: Api) -> None:
    client = web.client
    sign_in(client, "in-analyst")
    network, _ = library(client)
    assert create(client, network, kind="node", nodes="T1_1", ttr="5", scenario_id="outage").status_code == 303
    sign_in(client, "us-analyst")
    assert create(client, network, kind="node", nodes="T1_1", ttr="6", scenario_id="outage").status_code == 303
    page = client.get("/runs/scenarios", params={"network": network}).text
    rows = re.findall(r"<td>outage</td>.*?<td class=\"num\">([\d.]+)</td>.*?<td>(you|IN|US)</td>", page, re.S)
    assert sorted(rows) == [("5", "IN"), ("6", "you")]
    # The library lives under /runs, yet the navigation marks it as Scenarios, not as Runs.
    current = re.compile(r'<a href="([^"]*)" aria-current="page">')
    assert current.findall(page) == ["/runs/scenarios"]
    assert current.findall(client.get("/runs").text) == ["/runs"]
