"""Uploading networks in every format, browsing them, and refusing bad uploads without changing the database."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from clients import Api, import_file, make_api, table_counts
from networks.world import counter, small_network
from setu.errors import InputError
from setu.network.io.loader import read_network
from setu.network.io.setu_format import write_setu
from setu.network.model import Network
from setu.settings import ApiSettings

NETWORKS = "/api/v1/networks"
WILLEMS = "01.csv"


def zip_folder(folder: Path, *, prefix: str = "") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, prefix + path.name)
    return buffer.getvalue()


def upload(api: Api, filename: str, data: bytes, user: str = "in-analyst", **form: Any) -> Any:
    """The upload's answer; a queued import waited for, as it would have been answered at once (:func:`import_file`)."""
    return import_file(api, user, filename, data, **form)


@pytest.fixture
def network() -> Network:
    return small_network()


def check_browse(api: Api, network_id: int, expected: Network, user: str = "in-analyst") -> None:
    """Every way of reading a network agrees with the network uploaded."""
    detail = api.get(user, f"{NETWORKS}/{network_id}").json()
    assert detail["nodes"] == len(expected.nodes)
    ids: list[str] = []
    offset = 0
    while True:
        page = api.get(user, f"{NETWORKS}/{network_id}/nodes", params={"offset": offset, "limit": 7}).json()
        assert page["total"] == len(expected.nodes) and page["offset"] == offset and page["limit"] == 7
        assert len(page["items"]) == min(7, len(expected.nodes) - offset)
        ids += [item["node_id"] for item in page["items"]]
        offset += 7
        if offset >= page["total"]:
            break
    assert ids == sorted(node.id for node in expected.nodes)
    by_id = {node.id: node for node in expected.nodes}
    one = expected.nodes[-1]
    got = api.get(user, f"{NETWORKS}/{network_id}/nodes/{one.id}").json()
    assert (got["node_id"], got["material"], got["capacity"], got["site"]) == (
        one.id,
        one.material,
        one.capacity,
        one.site,
    )
    sites = api.get(user, f"{NETWORKS}/{network_id}/sites").json()
    assert [(i["value"], i["nodes"]) for i in sites["items"]] == counter([n.site for n in expected.nodes])
    assert sites["total"] == len(sites["items"])
    materials = api.get(user, f"{NETWORKS}/{network_id}/materials").json()
    assert [(i["value"], i["nodes"]) for i in materials["items"]] == counter([n.material for n in expected.nodes])
    organizations = api.get(user, f"{NETWORKS}/{network_id}/organizations").json()
    assert [(i["value"], i["nodes"]) for i in organizations["items"]] == counter(
        [n.organization for n in expected.nodes]
    )
    supplier = expected.supplies[0]
    hood = api.get(user, f"{NETWORKS}/{network_id}/nodes/{supplier.customer}/neighbourhood").json()
    wanted = sorted(s.supplier for s in expected.supplies if s.customer == supplier.customer)
    assert [n["node_id"] for n in hood["suppliers"]] == wanted
    assert all(by_id[n["node_id"]] for n in hood["dependents"])


def test_upload_the_accelerator_json_and_browse_it(api: Api, generated_data: Path) -> None:
    data = (generated_data / "dataset_small.json").read_bytes()
    answer = upload(api, "dataset_small.json", data, classification="RESTRICTED", releases=["IN", "US"])
    assert answer.status_code == 201, answer.text
    body = answer.json()
    expected = read_network(generated_data / "dataset_small.json")
    assert {k: body[k] for k in ("name", "version", "format", "source", "nodes")} == {
        "name": "dataset_small",
        "version": 1,
        "format": "accelerator",
        "source": "dataset_small.json",
        "nodes": len(expected.nodes),
    }
    assert body["marking"] == {
        "classification": "RESTRICTED",
        "banner": "RESTRICTED // REL TO IN, US",
        "releases": ["IN", "US"],
        "national_only": False,
        "groups": [],
    }
    check_browse(api, body["id"], expected)
    check_browse(api, body["id"], expected, user="us-industry")  # released to both parties
    # A second upload of the same name is version 2.
    again = upload(api, "dataset_small.json", data)
    assert again.json()["version"] == 2
    assert again.json()["marking"]["banner"] == "UNCLASSIFIED // REL TO IN"  # the default: your party only
    listing = api.get("us-analyst", NETWORKS).json()
    assert listing["total"] == 1 and listing["items"][0]["version"] == 1
    assert listing["banner"] == "RESTRICTED // REL TO IN, US"
    third = upload(api, "dataset_small.json", data, releases="IN,US")  # commas work as well as repeated fields
    assert third.json()["marking"]["releases"] == ["IN", "US"]
    listing = api.get("in-analyst", NETWORKS, params={"name": "small"}).json()
    assert [item["version"] for item in listing["items"]] == [3, 2, 1]
    assert listing["banner"] == "RESTRICTED // REL TO IN"


def test_upload_a_setu_workbook(api: Api, network: Network, tmp_path: Path) -> None:
    path = write_setu(network, tmp_path / "engine.xlsx")
    answer = upload(api, "engine.xlsx", path.read_bytes(), name="Engine program", national_only="true")
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert (body["name"], body["format"], body["marking"]["banner"]) == (
        "Engine program",
        "setu",
        "UNCLASSIFIED // IN ONLY",
    )
    check_browse(api, body["id"], network)
    assert api.get("us-analyst", f"{NETWORKS}/{body['id']}").status_code == 404


@pytest.mark.parametrize("prefix", ["", "tables/"], ids=["flat", "in-a-folder"])
def test_upload_a_zip_of_csv_tables(api: Api, network: Network, tmp_path: Path, prefix: str) -> None:
    folder = write_setu(network, tmp_path / "tables")
    answer = upload(api, "tables.zip", zip_folder(folder, prefix=prefix), format="setu", releases=["US", "IN"])
    assert answer.status_code == 201, answer.text
    assert answer.json()["format"] == "setu"
    check_browse(api, answer.json()["id"], network, user="us-analyst")


def test_upload_a_willems_chain(api: Api, generated_data: Path) -> None:
    data = (generated_data / WILLEMS).read_bytes()
    answer = upload(api, "01.csv", data)
    assert answer.status_code == 201, answer.text
    assert answer.json()["format"] == "willems"
    check_browse(api, answer.json()["id"], read_network(generated_data / WILLEMS))


def test_search_filters_sort_and_suggestions(api: Api, network: Network, tmp_path: Path) -> None:
    path = write_setu(network, tmp_path / "net.xlsx")
    nid = upload(api, "net.xlsx", path.read_bytes()).json()["id"]
    url = f"{NETWORKS}/{nid}/nodes"

    def ids(**params: Any) -> tuple[list[str], int]:
        page = api.get("in-analyst", url, params={"limit": 1000, **params}).json()
        return [item["node_id"] for item in page["items"]], page["total"]

    found, total = ids(q="vikram")
    assert sorted(found) == ["T2_9", "T3_16", "T3_17"] and total == 3
    found, total = ids(party="US", organization="GE Aerospace")
    assert sorted(found) == sorted(n.id for n in network.nodes if n.organization == "GE Aerospace") and total == 5
    found, _ = ids(sort="-capacity")
    assert found == [n.id for n in sorted(network.nodes, key=lambda n: (-n.capacity, n.id))]
    found, total = ids(q="no such thing")
    assert (found, total) == ([], 0)
    page = api.get("in-analyst", url, params={"offset": 30, "limit": 10}).json()
    assert (len(page["items"]), page["total"]) == (5, 35)

    suggestions = api.get("in-analyst", f"{NETWORKS}/{nid}/suggest", params={"field": "organization", "prefix": "m"})
    assert suggestions.status_code == 200
    assert [s["value"] for s in suggestions.json()["items"]] == ["Mishra Dhatu"]
    programs = api.get("in-analyst", f"{NETWORKS}/{nid}/suggest", params={"field": "program"}).json()
    assert [s["value"] for s in programs["items"]] == ["F414", "Project Agni", "Tejas"]

    for params in ({"sort": "weight"}, {"limit": 0}, {"limit": 1001}, {"offset": -1}, {"party": "IN\x00"}):
        bad = api.get("in-analyst", url, params=params)
        assert bad.status_code == 422, (params, bad.text)
        assert bad.json()["detail"] == "invalid request" and bad.json()["problems"][0]["where"].startswith("query.")
    assert api.get("in-analyst", f"{NETWORKS}/{nid}/suggest", params={"field": "capacity"}).status_code == 422


# --- bad uploads --------------------------------------------------------------------------------------------


@pytest.fixture
def small_limit_api(engine: Engine, sessions: sessionmaker[Session]) -> Iterator[Api]:
    yield from make_api(engine, sessions, ApiSettings(max_upload_bytes=4096, max_zip_files=3, secure_cookies=False))


def stored(engine: Engine) -> dict[str, int]:
    """Rows in every table but the job queue's and the audit log's (a failed import job leaves an entry in each)."""
    queue = {"jobs", "audit_entries", "audit_pending", "audit_checkpoints"}
    return {table: count for table, count in table_counts(engine).items() if table not in queue}


def refused(api: Api, engine: Engine, status: int, filename: str, data: bytes, **form: Any) -> dict[str, Any]:
    """Upload, expect ``status``, and check that no table changed but the job queue and the audit log."""
    before = stored(engine)
    answer = upload(api, filename, data, **form)
    assert answer.status_code == status, answer.text
    assert stored(engine) == before
    body: dict[str, Any] = answer.json()
    assert set(body) <= {"detail", "problems"}
    return body


def test_broken_rows_are_listed_exactly_as_the_reader_gives_them(
    api: Api, engine: Engine, network: Network, tmp_path: Path
) -> None:
    folder = write_setu(network, tmp_path / "tables")
    nodes = (folder / "nodes.csv").read_text().splitlines()
    capacity = next(node.capacity for node in network.nodes if node.id == "T1_2")
    nodes[2] = nodes[2].replace(f",{capacity:g},", ",lots,")
    nodes[5] = nodes[5].replace("T1_5,HAL T1_5,T1_5", "T1_5,HAL T1_5,")
    (folder / "nodes.csv").write_text("\n".join(nodes) + "\n")
    (folder / "bom.csv").write_text((folder / "bom.csv").read_text() + "T1_1,ghost,1\n")
    with pytest.raises(InputError) as local:
        read_network(folder, "setu")
    expected = [
        {
            "where": p.where.replace(str(tmp_path) + "/", "tables.zip/"),
            "message": p.message.replace(str(tmp_path) + "/", "tables.zip/"),
        }
        for p in local.value.problems
    ]
    body = refused(api, engine, 422, "tables.zip", zip_folder(folder))
    assert body["problems"] == [
        {"where": p["where"].replace("tables.zip/tables/", "tables.zip/"), "message": p["message"]} for p in expected
    ]
    assert len(body["problems"]) >= 3
    assert body["detail"] == f"{len(body['problems'])} problem(s) in input"
    assert any(p["where"] == "tables.zip/nodes.csv, line 3, column capacity" for p in body["problems"]), body


def test_wrong_formats_are_refused(
    api: Api, engine: Engine, generated_data: Path, network: Network, tmp_path: Path
) -> None:
    accelerator = (generated_data / "dataset_small.json").read_bytes()
    body = refused(api, engine, 422, "dataset_small.json", accelerator, format="willems")
    assert body["problems"][0]["where"].startswith("dataset_small.json")
    body = refused(api, engine, 422, "network.txt", b"hello")
    assert body["problems"] == [
        {
            "where": "network.txt",
            "message": "cannot tell the format from the file name "
            "(expected .xlsx, a .zip of CSV tables, .json or .csv); choose a format",
        }
    ]
    refused(api, engine, 422, "net.xlsx", b"PK\x03\x04 not really a workbook")
    refused(api, engine, 422, "net.json", b"\xff\xfe\x00garbage", format="accelerator")
    refused(api, engine, 422, "net.json", json.dumps({"tier1": "x"}).encode())
    refused(api, engine, 422, "tables.zip", b"not a zip")
    refused(api, engine, 422, "empty.json", b"")
    folder = write_setu(network, tmp_path / "tables")
    body = refused(api, engine, 422, "tables.zip", zip_folder(folder), format="accelerator")
    assert "format must be auto or setu" in body["problems"][0]["message"]
    body = refused(api, engine, 422, "01.csv", (generated_data / WILLEMS).read_bytes(), format="setu")
    assert body["problems"][0]["where"] == "01.csv"


@pytest.mark.parametrize(
    ("form", "where"),
    [
        ({"classification": "TOP SECRET"}, "body.classification"),
        ({"national_only": "maybe"}, "body.national_only"),
        ({"owners": "HAL"}, "body.owners.0"),
        ({"format": "excel"}, "body.format"),
        ({"name": "x" * 201}, "body.name"),
        ({"releases": "XX"}, "releases"),
        ({"groups": "bad group!"}, "groups"),
        ({"owners": "999"}, "owners"),
    ],
)
def test_wrong_field_types_and_values(
    api: Api, engine: Engine, generated_data: Path, form: dict[str, str], where: str
) -> None:
    data = (generated_data / "dataset_small.json").read_bytes()
    body = refused(api, engine, 422, "dataset_small.json", data, **form)
    assert [p["where"] for p in body["problems"]] == [where], body


def test_a_marking_the_uploader_could_not_read_is_403(api: Api, engine: Engine, generated_data: Path) -> None:
    data = (generated_data / "dataset_small.json").read_bytes()
    before = table_counts(engine)
    answer = upload(api, "dataset_small.json", data, classification="SECRET")
    assert answer.status_code == 403
    assert answer.json() == {"detail": "you may not mark records SECRET // REL TO IN: you could not read them yourself"}
    after = table_counts(engine)
    assert after.pop("audit_entries") == before.pop("audit_entries") + 1  # the refusal is audited
    assert after == before


def test_the_import_checks_the_role_after_the_requested_marking(api: Api, engine: Engine) -> None:
    """The role check moved from the endpoint into the import (issue 9): the requested marking is read first.

    So an industry user asking for an unknown party hears about the party (422) rather than their role
    (403); parties are public. With a well-formed marking the answer is the role's 403, audited.
    """
    before = table_counts(engine)
    answer = upload(api, "a.json", b"{}", user="in-industry", releases=["XX"])
    assert answer.status_code == 422, answer.text
    assert [p["where"] for p in answer.json()["problems"]] == ["releases"]
    assert table_counts(engine) == before
    answer = upload(api, "a.json", b"{}", user="in-industry", releases=["IN"])
    assert answer.status_code == 403 and "requires role analyst or admin" in answer.json()["detail"]
    after = table_counts(engine)
    assert after.pop("audit_entries") == before.pop("audit_entries") + 1
    assert after == before


def test_a_missing_file_and_a_json_body_are_422(api: Api, engine: Engine) -> None:
    before = table_counts(engine)
    assert api.post("in-analyst", NETWORKS, data={"format": "auto"}).status_code == 422
    assert api.post("in-analyst", NETWORKS, json={"file": "x"}).status_code == 422
    assert table_counts(engine) == before


def test_texts_the_database_cannot_hold_are_problems(
    api: Api, engine: Engine, network: Network, tmp_path: Path
) -> None:
    folder = write_setu(network, tmp_path / "tables")
    nodes = (folder / "nodes.csv").read_text().splitlines()
    nodes[1] = nodes[1].replace(",IN,IN,", ",INDIA-REPUBLIC,IN,", 1)
    (folder / "nodes.csv").write_text("\n".join(nodes) + "\n")
    body = refused(api, engine, 422, "tables.zip", zip_folder(folder))
    assert body["problems"] == [{"where": "nodes[T1_1].party", "message": "longer than 8 characters (14)"}]


def test_a_file_over_the_limit_is_413(small_limit_api: Api, engine: Engine, generated_data: Path) -> None:
    data = (generated_data / "dataset_small.json").read_bytes()
    assert len(data) > 4096
    body = refused(small_limit_api, engine, 413, "dataset_small.json", data)
    assert body == {"detail": "the file is larger than the limit of 4096 bytes"}
    # A body far over the limit is refused before it is read, by its Content-Length.
    huge = b"x" * (2 * 1024 * 1024)
    body = refused(small_limit_api, engine, 413, "huge.json", huge)
    assert body["detail"].startswith("the request body is larger than the limit")


def test_a_chunked_body_over_the_limit_is_413(small_limit_api: Api, engine: Engine) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.json"\r\n\r\n'
        for _ in range(40):
            yield b"y" * 65536
        yield b"\r\n--x--\r\n"

    before = table_counts(engine)
    answer = small_limit_api.client.post(
        NETWORKS,
        content=chunks(),
        headers={**small_limit_api.auth("in-analyst"), "Content-Type": "multipart/form-data; boundary=x"},
    )
    assert answer.status_code == 413, answer.text
    assert table_counts(engine) == before


def evil_zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("member", "message"),
    [
        ("../nodes.csv", "path with '..' in the archive; the archive is refused"),
        ("tables/../../etc/nodes.csv", "path with '..' in the archive; the archive is refused"),
        ("/etc/nodes.csv", "absolute path in the archive; the archive is refused"),
        ("C:/nodes.csv", "absolute path in the archive; the archive is refused"),
    ],
)
def test_a_zip_escaping_its_folder_is_refused(
    api: Api, engine: Engine, network: Network, tmp_path: Path, member: str, message: str
) -> None:
    folder = write_setu(network, tmp_path / "tables")
    members = {p.name: p.read_bytes() for p in folder.iterdir() if p.name != "nodes.csv"}
    members[member] = (folder / "nodes.csv").read_bytes()
    body = refused(api, engine, 422, "evil.zip", evil_zip(members))
    assert body["problems"] == [{"where": f"evil.zip: {member}", "message": message}]
    assert not (tmp_path.parent / "nodes.csv").exists()


def test_a_zip_with_too_many_files_is_refused(small_limit_api: Api, engine: Engine) -> None:
    data = evil_zip({f"t{i}.csv": b"a" for i in range(4)})
    body = refused(small_limit_api, engine, 422, "many.zip", data)
    assert body["problems"] == [{"where": "many.zip", "message": "the archive holds 4 files; at most 3 are accepted"}]


def test_a_zip_bomb_is_refused(engine: Engine, sessions: sessionmaker[Session]) -> None:
    settings = ApiSettings(max_upload_bytes=1024 * 1024, max_zip_bytes=100_000, secure_cookies=False)
    for api in make_api(engine, sessions, settings):  # the app runs (its workers too) while the loop's body does
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("nodes.csv", b"0" * 10_000_000)
        body = refused(api, engine, 422, "bomb.zip", buffer.getvalue())
        assert body["problems"] == [
            {"where": "bomb.zip", "message": "the archive unpacks to 10000000 bytes; at most 100000"}
        ]


def test_nothing_is_left_in_the_temporary_folder(api: Api, network: Network, tmp_path: Path) -> None:
    import tempfile

    before = {p.name for p in Path(tempfile.gettempdir()).glob("setu-upload-*")}
    folder = write_setu(network, tmp_path / "tables")
    assert upload(api, "tables.zip", zip_folder(folder)).status_code == 201
    assert upload(api, "tables.zip", b"broken").status_code == 422
    assert {p.name for p in Path(tempfile.gettempdir()).glob("setu-upload-*")} == before
    shutil.rmtree(folder)
