"""The API process: health, readiness, docs, and problem+json for everything that goes wrong."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from .api_support import client


def test_health_and_readiness_answer_without_a_key(api_url: str) -> None:
    with client(api_url, None) as anonymous:
        assert anonymous.get("/healthz").json() == {"status": "ok"}
        ready = anonymous.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}
        assert anonymous.get("/openapi.json").json()["info"]["title"] == "taskhub"
        assert anonymous.get("/docs").status_code == 200


def test_an_unknown_route_is_a_problem_not_a_page(api: Callable[..., httpx.Client]) -> None:
    reply = api().get("/api/v1/nowhere")
    assert reply.status_code == 404
    assert reply.headers["content-type"] == "application/problem+json"
    assert reply.json()["status"] == 404


def test_a_body_over_the_limit_gets_413(api: Callable[..., httpx.Client]) -> None:
    reply = api().post(
        "/api/v1/tasks",
        content=b"{" + b" " * 1_100_000 + b"}",
        headers={"content-type": "application/json"},
    )
    assert reply.status_code == 413
    assert reply.json()["title"] == "Payload too large"
