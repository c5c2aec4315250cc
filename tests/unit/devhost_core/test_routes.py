"""Route templates: parameters, optional, constraints, catch-all, precedence, duplicates."""

from __future__ import annotations

import pytest

from devhost.errors import AppLoadError
from devhost.routes import RouteTemplate, best_match


def match(template: str, path: str) -> dict[str, str] | None:
    return RouteTemplate.parse(template).match(path)


def test_literal_routes_are_case_insensitive() -> None:
    assert match("health", "health") == {}
    assert match("health", "HEALTH") == {}
    assert match("health", "health/extra") is None
    assert match("health", "") is None


def test_parameters_and_percent_decoding() -> None:
    assert match("items/{id}", "items/42") == {"id": "42"}
    assert match("items/{id}", "items/a%20b") == {"id": "a b"}
    assert match("items/{id}", "items") is None
    assert match("models/{name}/versions/{version}", "models/m/versions/3") == {"name": "m", "version": "3"}


def test_optional_parameter() -> None:
    assert match("items/{id?}", "items") == {}
    assert match("items/{id?}", "items/7") == {"id": "7"}
    assert match("items/{id:int}/{name?}", "items/7/bob") == {"id": "7", "name": "bob"}


@pytest.mark.parametrize(
    ("template", "ok", "bad"),
    [
        ("n/{v:int}", "n/-12", "n/1.5"),
        ("n/{v:int}", "n/2147483647", "n/2147483648"),
        ("n/{v:long}", "n/2147483648", "n/x"),
        ("n/{v:alpha}", "n/abc", "n/ab1"),
        ("n/{v:bool}", "n/True", "n/yes"),
        ("n/{v:guid}", "n/0b8e3c57-9fd7-4a5e-9c2b-6f0f7b5b2f11", "n/not-a-guid"),
        ("n/{v:double}", "n/1.5", "n/x"),
        ("n/{v:minlength(3)}", "n/abc", "n/ab"),
        ("n/{v:maxlength(2)}", "n/ab", "n/abc"),
        ("n/{v:range(1,5)}", "n/5", "n/6"),
        ("n/{v:int:min(10)}", "n/10", "n/9"),
        ("n/{v:regex(^a.c$)}", "n/abc", "n/abd"),
    ],
)
def test_constraints(template: str, ok: str, bad: str) -> None:
    assert match(template, ok) is not None
    assert match(template, bad) is None


def test_catch_all() -> None:
    assert match("files/{*path}", "files/a/b/c.txt") == {"path": "a/b/c.txt"}
    assert match("files/{*path}", "files") == {}
    assert match("{*all}", "anything/at/all") == {"all": "anything/at/all"}


def test_most_specific_route_wins() -> None:
    templates = [
        RouteTemplate.parse(t) for t in ("items/{*rest}", "items/{id}", "items/new", "items/{id:int}")
    ]
    assert next(i for i, _ in best_match(templates, "items/new")) == 2
    assert next(i for i, _ in best_match(templates, "items/12")) == 3
    assert next(i for i, _ in best_match(templates, "items/abc")) == 1
    assert [i for i, _ in best_match(templates, "items/a/b")] == [0]


@pytest.mark.parametrize(
    "template",
    ["items/{id?}/more", "files/{*path}/x", "a/{x}/{x}", "a//b", "a/{bad", "a/{v:nosuch}", "a/x{y}"],
)
def test_malformed_templates(template: str) -> None:
    with pytest.raises(AppLoadError):
        RouteTemplate.parse(template)


def test_shape_ignores_parameter_names_and_case() -> None:
    assert RouteTemplate.parse("Items/{id}").shape == RouteTemplate.parse("items/{other}").shape
    assert RouteTemplate.parse("items/{id}").shape != RouteTemplate.parse("items/{id?}").shape
