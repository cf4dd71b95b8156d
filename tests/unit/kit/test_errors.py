"""The one error model: every error of an app has the same body and the same field paths."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from ferry_kit import errors
from pydantic import BaseModel


class Model(BaseModel):
    data_model: str


class Body(BaseModel):
    models: list[Model]


def _client() -> TestClient:
    app = FastAPI()
    errors.install(app)

    @app.post("/things")
    async def create(body: Body) -> dict[str, str]:
        return {}

    @app.get("/things/{thing_id}")
    async def read(thing_id: str) -> dict[str, str]:
        if thing_id == "taken":
            raise errors.Conflict("already there", code="duplicate",
                                  details=[errors.detail("thing_id", "in use")])
        if thing_id == "boom":
            raise RuntimeError("unexpected")
        raise errors.NotFound(f"no thing {thing_id}")

    return TestClient(app, raise_server_exceptions=False)


def test_field_paths_use_dots_for_names_and_brackets_for_indexes():
    assert errors.field_path(("body", "models", 0, "data_model")) == "models[0].data_model"
    assert errors.field_path(("query", "limit")) == "limit"
    assert errors.field_path(("body",)) == "body"


def test_a_validation_error_names_each_field_in_the_one_shape():
    answer = _client().post("/things", json={"models": [{"x": 1}]})
    assert answer.status_code == 422
    assert answer.json() == {"error": {
        "code": "validation_error", "message": "invalid input: models[0].data_model",
        "details": [{"field": "models[0].data_model", "message": "Field required",
                     "type": "missing"}]}}


def test_raised_errors_keep_their_status_code_and_details():
    client = _client()
    assert client.get("/things/t1").json() == {
        "error": {"code": "not_found", "message": "no thing t1", "details": []}}
    taken = client.get("/things/taken")
    assert taken.status_code == 409
    assert taken.json()["error"]["code"] == "duplicate"
    assert taken.json()["error"]["details"] == [
        {"field": "thing_id", "message": "in use", "type": "value_error"}]


def test_unknown_routes_and_crashes_answer_in_the_same_shape():
    client = _client()
    missing = client.get("/nowhere")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    crash = client.get("/things/boom")
    assert crash.status_code == 500
    assert crash.json()["error"] == {"code": "internal_error",
                                     "message": "an internal error occurred", "details": []}
