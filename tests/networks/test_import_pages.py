"""The import page: every format imports with the chosen marking; problems row by row; nothing stored on refusal."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest
from openpyxl.utils import get_column_letter
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from clients import Api, csrf_of, make_api, sign_in, table_counts, wait_job_page
from networks.world import SECRET_WORDS, build_world
from principals import IN_MOD
from setu.audit.log import integrate
from setu.errors import InputError
from setu.models.audit import AuditEntry
from setu.network.io.loader import read_network
from setu.network.io.setu_format import write_setu
from setu.network.model import Network
from setu.settings import ApiSettings

ACCELERATOR = "dataset_small.json"


class ProblemTable(HTMLParser):
    """The rows of the page's problem table, each as {file, sheet, row, column, message}."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, str]] = []
        self._in_table = False
        self._column: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "table" and found.get("data-testid") == "problems":
            self._in_table = True
        elif self._in_table and tag == "tr":
            self.rows.append({})
        elif self._in_table and tag == "td":
            self._column = found.get("data-col")
            self.rows[-1][self._column or ""] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._in_table = False
        elif tag == "td":
            self._column = None

    def handle_data(self, data: str) -> None:
        if self._in_table and self._column is not None:
            self.rows[-1][self._column] += data


def problem_rows(html: str) -> list[dict[str, str]]:
    parser = ProblemTable()
    parser.feed(html)
    return [row for row in parser.rows if row]


def zip_folder(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, path.name)
    return buffer.getvalue()


@dataclass
class Followed:
    """The job page a queued import led to once the job ended, told as the form's own answer: a 303 to the
    new network when it succeeded, a 422 page listing the file's problems when it failed."""

    status_code: int
    text: str
    headers: dict[str, str]


def submit(api: Api, filename: str, data: bytes, *, csrf: str | None = None, **form: Any) -> Any:
    """Post the import form as the signed-in browser would (the page's own token unless ``csrf``); a queued
    import is followed to its job page until the job ends (:class:`Followed`)."""
    token = csrf if csrf is not None else csrf_of(api.client.get("/networks/import").text)
    answer = api.client.post(
        "/networks/import",
        data={"csrf": token, **form},
        files={"file": (filename, data)},
        follow_redirects=False,
    )
    if answer.status_code != 303 or not answer.headers["location"].startswith("/jobs/"):
        return answer
    page = wait_job_page(api.client, answer.headers["location"])
    headers = dict(page.headers)
    made = re.search(r'href="(/networks/\d+\?imported=1)"', page.text)
    if 'data-status="succeeded"' in page.text and made:
        return Followed(303, page.text, {**headers, "location": made.group(1)})
    return Followed(422, page.text, headers)


def imported_id(answer: httpx.Response) -> int:
    assert answer.status_code == 303, answer.text
    found = re.fullmatch(r"/networks/(\d+)\?imported=1", answer.headers["location"])
    assert found, answer.headers["location"]
    return int(found.group(1))


def audit_count(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        integrate(session)  # sequence what is pending, as every reader of the log does
        return int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


@pytest.fixture
def analyst(web: Api) -> Api:
    sign_in(web.client, "in-analyst")
    return web


def test_the_form_is_labelled_and_offers_what_the_user_may_assign(analyst: Api) -> None:
    page = analyst.client.get("/networks/import")
    assert page.status_code == 200
    html = page.text
    for field_id, label in (("import-file", "Network file"), ("import-name", "Network name")):
        assert f'<label for="{field_id}">{label}</label>' in html
        assert f'id="{field_id}"' in html
    assert '<button type="submit">Import</button>' in html
    assert 'enctype="multipart/form-data"' in html and 'name="csrf"' in html
    assert 'href="/static/forms.css"' in html and 'href="/networks/import/template.xlsx"' in html
    # Levels up to the analyst's clearance (CONFIDENTIAL), both parties, the analyst's group and organization.
    levels = re.findall(r'<option value="([A-Z]+)"', html)
    assert levels == ["UNCLASSIFIED", "RESTRICTED", "CONFIDENTIAL"]
    assert re.findall(r'name="releases" value="(\w+)"', html) == ["IN", "US"]
    assert re.search(r'name="releases" value="IN" checked', html) and not re.search(r'value="US" checked', html)
    assert re.findall(r'name="groups" value="(\w+)"', html) == ["ENGINE"]
    assert f'name="owners" value="{IN_MOD}"' in html and "Proprietary to Ministry of Defence" in html
    assert re.findall(r'<option value="(\w+)"(?: selected)?>[A-Z][a-z]', html)[:4] == [
        "auto",
        "setu",
        "accelerator",
        "willems",
    ]
    # The page shows no record at all, so nothing hidden from anyone.
    sign_in(analyst.client, "us-analyst")
    us_page = analyst.client.get("/networks/import").text
    assert not [word for word in SECRET_WORDS if word in us_page]


def test_only_analysts_and_admins_get_the_form(web: Api) -> None:
    for user in ("auditor", "in-industry"):
        sign_in(web.client, user)
        page = web.client.get("/networks/import")
        assert page.status_code == 403 and "analyst or admin role" in page.text
    web.client.cookies.clear()
    assert web.client.get("/networks/import", follow_redirects=False).headers["location"] == "/accounts/login"
    assert (
        web.client.get("/networks/import/template.xlsx", follow_redirects=False).headers["location"]
        == "/accounts/login"
    )


def test_the_import_page_moved_under_networks(analyst: Api) -> None:
    """Issue 9: /import is now /networks/import (and its workbook /networks/import/template.xlsx)."""
    for old in ("/import", "/import/template.xlsx"):
        gone = analyst.client.get(old)
        assert gone.status_code == 404 and gone.headers["content-type"].startswith("text/html")
    html = analyst.client.get("/networks/import").text
    # The main menu marks Import as the current page, not Networks, whose path it starts with.
    assert '<a href="/networks/import" aria-current="page">Import</a>' in html
    assert '<a href="/networks">Networks</a>' in html
    assert '<a href="/networks" aria-current="page">Networks</a>' in analyst.client.get("/networks").text
    assert 'href="/networks/import"' in analyst.client.get("/networks").text


def test_the_template_workbook_downloads_and_reads(analyst: Api, tmp_path: Path) -> None:
    answer = analyst.client.get("/networks/import/template.xlsx")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert 'filename="setu-template.xlsx"' in answer.headers["content-disposition"]
    path = tmp_path / "template.xlsx"
    path.write_bytes(answer.content)
    assert {node.id for node in read_network(path).nodes} >= {"RADAR", "MISSILE", "CHIP_A"}


def check_stored(api: Api, network_id: int, *, banner: str, name: str, nodes: int, us_sees: bool) -> None:
    body = api.get("in-analyst", f"/api/v1/networks/{network_id}").json()
    assert (body["name"], body["marking"]["banner"], body["nodes"]) == (name, banner, nodes)
    assert api.get("us-analyst", f"/api/v1/networks/{network_id}").status_code == (200 if us_sees else 404)


def test_a_workbook_imports_with_the_chosen_marking(analyst: Api, world: Network, tmp_path: Path) -> None:
    path = write_setu(world, tmp_path / "engine.xlsx")
    answer = submit(
        analyst, "engine.xlsx", path.read_bytes(), name="Engine program", classification="RESTRICTED",
        releases=["IN", "US"],
    )  # fmt: skip
    network_id = imported_id(answer)
    check_stored(
        analyst, network_id, banner="RESTRICTED // REL TO IN, US", name="Engine program", nodes=len(world.nodes),
        us_sees=True,
    )  # fmt: skip
    shown = analyst.client.get(answer.headers["location"]).text
    assert 'data-testid="imported"' in shown and "Engine program" in shown


def test_a_zip_of_csv_tables_imports_national_only(analyst: Api, world: Network, tmp_path: Path) -> None:
    folder = write_setu(world, tmp_path / "tables")
    answer = submit(analyst, "tables.zip", zip_folder(folder), national_only="on")
    check_stored(
        analyst, imported_id(answer), banner="UNCLASSIFIED // IN ONLY", name="tables", nodes=len(world.nodes),
        us_sees=False,
    )  # fmt: skip


def test_accelerator_json_imports_with_groups_and_owner(analyst: Api, generated_data: Path) -> None:
    data = (generated_data / ACCELERATOR).read_bytes()
    answer = submit(
        analyst, "dataset_small.json", data, format="accelerator", releases=["IN", "US"], groups=["ENGINE"],
        owners=[str(IN_MOD)],
    )  # fmt: skip
    network_id = imported_id(answer)
    body = analyst.get("in-analyst", f"/api/v1/networks/{network_id}").json()
    assert (body["format"], body["name"]) == ("accelerator", "dataset_small")
    assert body["marking"]["groups"] == ["ENGINE"] and body["marking"]["releases"] == ["IN", "US"]
    assert "Ministry of Defence" in body["marking"]["banner"]
    # A US analyst is in ENGINE but not of the owning ministry's party: the network stays hidden.
    assert analyst.get("us-analyst", f"/api/v1/networks/{network_id}").status_code == 404


def refused(api: Api, engine: Engine, status: int, filename: str, data: bytes, **form: Any) -> str:
    """Submit, expect ``status`` with an HTML page, and check that no table but the audit log changed."""
    before = table_counts(engine)
    answer = submit(api, filename, data, **form)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    after = table_counts(engine)
    for queue in ("audit_entries", "audit_pending", "jobs"):  # a failed import job leaves itself and its trail
        after.pop(queue)
        before.pop(queue)
    assert after == before
    return answer.text


def test_a_broken_zip_lists_each_problem_at_its_file_row_and_column(
    analyst: Api, engine: Engine, world: Network, tmp_path: Path
) -> None:
    folder = write_setu(world, tmp_path / "tables")
    nodes = (folder / "nodes.csv").read_text().splitlines()
    capacity = next(node.capacity for node in world.nodes if node.id == "T1_2")
    nodes[2] = nodes[2].replace(f",{capacity:g},", ",lots,")
    (folder / "nodes.csv").write_text("\n".join(nodes) + "\n")
    (folder / "bom.csv").write_text((folder / "bom.csv").read_text() + "T1_1,ghost,1\n")
    with pytest.raises(InputError) as local:
        read_network(folder, "setu")
    html = refused(analyst, engine, 422, "tables.zip", zip_folder(folder), name="Broken")
    rows = problem_rows(html)
    assert len(rows) == len(local.value.problems) >= 2
    assert rows[0] == {
        "file": "tables.zip/nodes.csv",
        "sheet": "",
        "row": "3",
        "column": "capacity",
        "message": "expected a number >= 0, got 'lots'",
    }
    ghost = [row for row in rows if row["file"] == "tables.zip/bom.csv"]
    assert ghost and ghost[0]["column"] == "material" and "ghost" not in ghost[0]["row"]
    assert re.fullmatch(r"\d+", ghost[0]["row"])
    # The messages are the reader's own, in its order.
    assert [row["message"] for row in rows] == [p.message for p in local.value.problems]
    assert "Nothing was imported" in html and "tables.zip" in html  # the job page names the file


def test_a_broken_workbook_names_the_sheet_row_and_column(
    analyst: Api, engine: Engine, world: Network, tmp_path: Path
) -> None:
    path = write_setu(world, tmp_path / "engine.xlsx")
    book = openpyxl.load_workbook(path)
    sheet = book["nodes"]
    header = [cell.value for cell in sheet[1]]
    sheet.cell(row=4, column=header.index("inventory") + 1, value=-5)
    sheet.cell(row=1, column=len(header) + 1, value="zzz")
    book.save(path)
    rows = problem_rows(refused(analyst, engine, 422, "engine.xlsx", path.read_bytes()))
    assert rows == [
        {
            "file": "engine.xlsx",
            "sheet": "nodes",
            "row": "1",
            "column": get_column_letter(len(header) + 1),
            "message": "unknown column 'zzz'; the nodes table has columns " + ", ".join(header),
        }
    ]
    # With the header fixed, the bad cell itself.
    sheet.cell(row=1, column=len(header) + 1).value = None
    book.save(path)
    rows = problem_rows(refused(analyst, engine, 422, "engine.xlsx", path.read_bytes()))
    assert rows == [
        {
            "file": "engine.xlsx",
            "sheet": "nodes",
            "row": "4",
            "column": "inventory",
            "message": "expected a number >= 0, got -5",
        }
    ]


def test_texts_the_database_cannot_hold_and_bad_json_are_listed(
    analyst: Api, engine: Engine, world: Network, tmp_path: Path
) -> None:
    folder = write_setu(world, tmp_path / "tables")
    nodes = (folder / "nodes.csv").read_text().splitlines()
    nodes[1] = nodes[1].replace(",IN,IN,", ",INDIA-REPUBLIC,IN,", 1)
    (folder / "nodes.csv").write_text("\n".join(nodes) + "\n")
    rows = problem_rows(refused(analyst, engine, 422, "tables.zip", zip_folder(folder)))
    assert rows == [
        {
            "file": "tables.zip",
            "sheet": "nodes",
            "row": "T1_1",
            "column": "party",
            "message": "longer than 8 characters (14)",
        }
    ]
    rows = problem_rows(refused(analyst, engine, 422, "net.json", b'{"tier1": "x"}'))
    assert rows[0]["file"] == "net.json" and rows[0]["message"].startswith("missing key(s)")
    rows = problem_rows(refused(analyst, engine, 422, "network.txt", b"hello"))
    assert rows[0]["file"] == "network.txt" and "cannot tell the format" in rows[0]["message"]


def test_bad_fields_are_problems_on_the_page(analyst: Api, engine: Engine, generated_data: Path) -> None:
    data = (generated_data / ACCELERATOR).read_bytes()
    rows = problem_rows(
        refused(analyst, engine, 422, "dataset_small.json", data, classification="TOP SECRET", format="excel")
    )
    assert [row["column"] for row in rows] == ["format", "classification"]
    rows = problem_rows(refused(analyst, engine, 422, "dataset_small.json", data, releases=["XX"], owners=["999"]))
    assert [(row["column"], row["message"]) for row in rows] == [
        ("releases", "unknown party 'XX'; known parties: IN, US"),
        ("owners", "unknown organization id 999"),
    ]
    answer = analyst.client.post(
        "/networks/import", data={"csrf": csrf_of(analyst.client.get("/networks/import").text)}, follow_redirects=False
    )
    assert answer.status_code == 422
    assert problem_rows(answer.text)[0] == {
        "file": "",
        "sheet": "",
        "row": "",
        "column": "file",
        "message": "choose a network file to import",
    }


@pytest.mark.parametrize(
    ("form", "refusal"),
    [
        ({"classification": "SECRET"}, "you may not mark records SECRET // REL TO IN"),
        ({"groups": ["NUCLEAR"]}, "you may not mark records UNCLASSIFIED // REL TO IN // NTK NUCLEAR"),
    ],
    ids=["above-clearance", "group-not-held"],
)
def test_a_marking_the_user_may_not_assign_is_refused_and_audited(
    analyst: Api,
    engine: Engine,
    sessions: sessionmaker[Session],
    generated_data: Path,
    form: dict[str, Any],
    refusal: str,
) -> None:
    before = audit_count(sessions)
    html = refused(analyst, engine, 403, "dataset_small.json", (generated_data / ACCELERATOR).read_bytes(), **form)
    assert "Nothing was imported: " + refusal + ": you could not read them yourself." in html
    assert 'role="alert"' in html and 'name="file"' in html  # the form is there to try again
    with sessions() as session:
        integrate(session)  # sequence what is pending, as every reader of the log does
        denials = session.scalars(
            select(AuditEntry).where(AuditEntry.seq >= before, AuditEntry.action == "network.import")
        ).all()
    assert [(e.actor_id, e.decision) for e in denials] == [(analyst.principals["in-analyst"].user_id, "deny")]


def test_a_forged_form_and_a_missing_role_are_refused(
    web: Api, engine: Engine, sessions: sessionmaker[Session], generated_data: Path
) -> None:
    data = (generated_data / ACCELERATOR).read_bytes()
    sign_in(web.client, "in-analyst")
    before = table_counts(engine)
    answer = submit(web, "dataset_small.json", data, csrf="0" * 64)
    assert answer.status_code == 403 and "did not come from Setu" in answer.text
    answer = submit(web, "dataset_small.json", data, csrf="")
    assert answer.status_code == 403
    assert table_counts(engine) == before
    sign_in(web.client, "in-industry")
    token = csrf_of(web.client.get("/").text)
    count = audit_count(sessions)
    answer = submit(web, "dataset_small.json", data, csrf=token)
    assert answer.status_code == 403 and "analyst or admin role" in answer.text
    with sessions() as session:
        integrate(session)  # sequence what is pending, as every reader of the log does
        entry = session.scalars(select(AuditEntry).where(AuditEntry.seq >= count)).one()
    assert (entry.actor_id, entry.action, entry.decision) == (
        web.principals["in-industry"].user_id,
        "network.import",
        "deny",
    )
    assert '"reason": "role"' in entry.details


def test_a_post_without_the_role_is_checked_as_a_form_first(web: Api, engine: Engine) -> None:
    """The role check moved into the import (issue 9): a post with bad fields lists them before the role matters.

    Users without the role are not offered the form; one posting it anyway with a well-formed
    form gets the role's 403 (see above), and with a broken one the form's problems.
    """
    sign_in(web.client, "in-industry")
    token = csrf_of(web.client.get("/").text)
    before = table_counts(engine)
    answer = web.client.post("/networks/import", data={"csrf": token}, follow_redirects=False)
    assert answer.status_code == 422
    assert problem_rows(answer.text)[0]["message"] == "choose a network file to import"
    assert table_counts(engine) == before


@pytest.fixture
def small_limit(engine: Engine, sessions: sessionmaker[Session], world: Network) -> Iterator[Api]:
    settings = ApiSettings(max_upload_bytes=4096, max_zip_files=3, secure_cookies=False)
    yield from make_api(engine, sessions, settings, lambda session: build_world(session, world))


def test_an_oversize_upload_gets_a_page_not_json(small_limit: Api, engine: Engine, generated_data: Path) -> None:
    sign_in(small_limit.client, "in-analyst")
    data = (generated_data / ACCELERATOR).read_bytes()
    assert len(data) > 4096
    html = refused(small_limit, engine, 413, "dataset_small.json", data)
    assert "File too large" in html and "limit of 4 KiB" in html and 'href="/networks/import"' in html
    assert "in-analyst" in html  # the signed-in page, with its header
    # A body far over the limit is refused by the server before the page sees it: still a page.
    html = refused(small_limit, engine, 413, "huge.json", b"x" * (2 * 1024 * 1024))
    assert "File too large" in html and "detail" not in html
    # The API keeps its JSON answer.
    answer = small_limit.post("in-analyst", "/api/v1/networks", files={"file": ("huge.json", b"x" * (2 * 1024 * 1024))})
    assert answer.status_code == 413 and answer.json()["detail"].startswith("the request body is larger")
