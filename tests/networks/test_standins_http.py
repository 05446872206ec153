"""Tear lines over HTTP and in the browser's pages: drafting, the partner's side, bad input, release and withdrawal."""

from __future__ import annotations

from clients import Api, csrf_of, sign_in
from networks.world import IN_ONLY_NODES, SECRET_WORDS
from setu.network.model import Network

API = "/api/v1"


def _network(web: Api) -> int:
    return int(web.get("in-analyst", f"{API}/networks").json()["items"][0]["id"])


def test_a_draft_over_the_api_is_the_owners_alone_until_released(web: Api, world: Network) -> None:
    nid = _network(web)
    drafted = web.post(
        "in-analyst", f"{API}/networks/{nid}/standins", json={"audience": "US", "classification": "RESTRICTED"}
    )
    assert drafted.status_code == 201, drafted.text
    body = drafted.json()
    tid = body["id"]
    assert body["state"] == "draft" and body["release_marking"] == "RESTRICTED // REL TO IN, US"
    covered = {c for s in body["standins"] for c in s["covers"]}
    assert set(IN_ONLY_NODES) <= covered
    assert body["check"]["scenarios"] > 0 and body["marking"]["national_only"]
    for standin in body["standins"]:
        node = standin["node"]
        assert node["name"].startswith("Undisclosed ") and not node["site"] and not node["organization"]

    # The partner: no tear line, no draft stand-in, and the same 404 for the draft as for nothing.
    assert web.get("us-analyst", f"{API}/networks/{nid}/standins").json() == []
    nodes = web.get("us-analyst", f"{API}/networks/{nid}/nodes", params={"q": "standin"}).json()
    assert nodes["total"] == 0
    for url in (f"{API}/networks/{nid}/standins/{tid}/release", f"{API}/networks/{nid}/standins/{tid + 99}/release"):
        assert web.post("us-analyst", url).status_code == 404
    assert web.client.delete(f"{API}/networks/{nid}/standins/{tid}", headers=web.auth("us-analyst")).status_code == 404
    assert web.post("in-industry", f"{API}/networks/{nid}/standins/{tid}/release").status_code == 404

    released = web.post("in-analyst", f"{API}/networks/{nid}/standins/{tid}/release")
    assert released.status_code == 200 and released.json()["state"] == "released"
    assert web.post("in-analyst", f"{API}/networks/{nid}/standins/{tid}/release").status_code == 409
    seen = web.get("us-analyst", f"{API}/networks/{nid}/nodes", params={"q": "standin", "limit": 500}).json()
    assert seen["total"] == len(body["standins"])
    text = str(seen)
    assert not [w for w in SECRET_WORDS if w in text]


def test_bad_drafts_get_the_field_and_what_was_expected(web: Api) -> None:
    nid = _network(web)
    url = f"{API}/networks/{nid}/standins"
    wrong_level = web.post("in-analyst", url, json={"audience": "US", "classification": "TOP SECRET"})
    assert wrong_level.status_code == 422 and "classification" in wrong_level.text
    own = web.post("in-analyst", url, json={"audience": "IN", "classification": "RESTRICTED"})
    assert own.status_code == 422 and "audience" in own.text and "not your own" in own.text
    unknown = web.post("in-analyst", url, json={"audience": "FR", "classification": "RESTRICTED"})
    assert unknown.status_code == 422 and "one of US" in unknown.text
    extra = web.post("in-analyst", url, json={"audience": "US", "classification": "RESTRICTED", "x": 1})
    assert extra.status_code == 422
    assert (
        web.post(
            "in-analyst", f"{API}/networks/{nid + 50}/standins", json={"audience": "US", "classification": "RESTRICTED"}
        ).status_code
        == 404
    )
    assert web.get("in-analyst", url).json() == []


def test_the_page_walks_an_owner_from_draft_to_release_and_shows_the_partner_only_the_stand_ins(web: Api) -> None:
    nid = _network(web)
    sign_in(web.client, "in-analyst")
    page = web.client.get(f"/networks/{nid}/standins")
    assert page.status_code == 200 and "Draft stand-ins" in page.text
    posted = web.client.post(
        f"/networks/{nid}/standins",
        data={"csrf": csrf_of(page.text), "audience": "US", "classification": "RESTRICTED"},
        follow_redirects=False,
    )
    assert posted.status_code == 303, posted.text
    draft = web.client.get(posted.headers["location"]).text
    assert 'data-testid="tear-line"' in draft and "to be released as <strong>RESTRICTED // REL TO IN, US" in draft
    assert "scenarios they can run" in draft and "T2_9" in draft  # the owner sees what each stand-in covers
    tid = int(draft.split('id="tear-line-', 1)[1].split('"', 1)[0])
    refused = web.client.post(
        f"/networks/{nid}/standins/{tid}/release", data={"csrf": "0" * 64}, follow_redirects=False
    )
    assert refused.status_code == 403
    done = web.client.post(
        f"/networks/{nid}/standins/{tid}/release", data={"csrf": csrf_of(draft)}, follow_redirects=True
    )
    assert done.status_code == 200 and "Released." in done.text

    sign_in(web.client, "us-industry")
    partner = web.client.get(f"/networks/{nid}/standins")
    assert partner.status_code == 200
    assert "Undisclosed IN source of" in partner.text and "Draft stand-ins" not in partner.text
    assert "your figures on this network compute with" in partner.text
    assert 'data-testid="tear-line"' not in partner.text
    assert not [w for w in SECRET_WORDS if w in partner.text]
    assert (
        web.client.post(f"/networks/{nid}/standins/{tid}/withdraw", data={"csrf": csrf_of(partner.text)}).status_code
        == 404
    )

    sign_in(web.client, "in-analyst")
    again = web.client.get(f"/networks/{nid}/standins").text
    gone = web.client.post(
        f"/networks/{nid}/standins/{tid}/withdraw", data={"csrf": csrf_of(again)}, follow_redirects=True
    )
    assert "Withdrawn." in gone.text and 'data-testid="tear-line"' not in gone.text


def test_folding_by_material_is_asked_for_and_reported(web: Api) -> None:
    nid = _network(web)
    url = f"{API}/networks/{nid}/standins"
    exact = web.post("in-analyst", url, json={"audience": "US", "classification": "RESTRICTED"}).json()
    folded = web.post("in-analyst", url, json={"audience": "US", "classification": "RESTRICTED", "fold": "material"})
    assert folded.status_code == 201 and folded.json()["fold"] == "material"
    body = folded.json()
    assert len(body["standins"]) <= len(exact["standins"])
    assert body["hidden_nodes"] == exact["hidden_nodes"]  # the same nodes, fewer records
    wrong = web.post("in-analyst", url, json={"audience": "US", "classification": "RESTRICTED", "fold": "site"})
    assert wrong.status_code == 422 and "fold" in wrong.text
