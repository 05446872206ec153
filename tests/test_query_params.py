"""A query parameter an API endpoint does not take is refused (422), never ignored into an answer of everything."""

from __future__ import annotations

import re

from clients import Api
from setu.middleware import PREFIX


def test_a_misspelt_filter_is_refused_with_the_parameters_the_endpoint_takes(api: Api) -> None:
    """From the hurried user's side: ``nmae=`` instead of ``name=`` used to answer every network as if filtered."""
    answer = api.get("in-analyst", f"{PREFIX}/networks", params={"nmae": "small", "limit": 5})
    assert answer.status_code == 422, answer.text
    problems = answer.json()["problems"]
    assert [p["where"] for p in problems] == ["query.nmae"]
    assert problems[0]["message"] == "/api/v1/networks takes no parameter 'nmae'; expected one of limit, name, offset"
    # Spelt right, the same request is answered.
    assert api.get("in-analyst", f"{PREFIX}/networks", params={"name": "small", "limit": 5}).status_code == 200


def test_every_unknown_parameter_is_named_and_a_path_parameter_is_not_a_query_one(api: Api) -> None:
    answer = api.get("in-analyst", f"{PREFIX}/runs/1", params={"b": "1", "a": "2", "run_id": "3"})
    assert answer.status_code == 422, answer.text
    assert [p["where"] for p in answer.json()["problems"]] == ["query.a", "query.b", "query.run_id"]
    assert "expected none" in answer.json()["problems"][0]["message"]


def test_the_check_comes_before_authentication_answers_nothing_about_data(api: Api) -> None:
    """A stranger learns only which parameters an endpoint takes, which the published API description says."""
    answer = api.client.get(f"{PREFIX}/networks", params={"nmae": "x"})
    assert answer.status_code in (401, 422)
    assert "small" not in answer.text


def test_every_get_endpoint_takes_what_the_api_description_documents_and_nothing_else(api: Api) -> None:
    """Each GET endpoint of the API, with every query parameter its description documents (values may be
    invalid: that is a different 422) is never told it takes one of them not; with one more, it is."""
    described = api.client.get("/openapi.json").json()["paths"]
    checked = 0
    for path, operations in described.items():
        if not path.startswith(PREFIX) or "get" not in operations:
            continue
        url = re.sub(r"\{[^}]+\}", "1", path)
        documented = {p["name"]: "1" for p in operations["get"].get("parameters", []) if p["in"] == "query"}
        answer = api.get("in-analyst", url, params=documented)
        assert "takes no parameter" not in answer.text, f"{path}: {answer.text}"
        refused = api.get("in-analyst", url, params={**documented, "zz": "1"})
        assert refused.status_code == 422, f"{path}: {refused.status_code}"
        assert any(p["where"] == "query.zz" for p in refused.json()["problems"]), f"{path}: {refused.text}"
        checked += 1
    assert checked > 40
