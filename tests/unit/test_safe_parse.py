"""Bounded YAML/JSON parsing: bombs, depth, size and recursion refused with the limit named."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml

from shared import safe_parse
from shared.errors import ValidationError
from shared.pipeline.spec import load_spec
from shared.safe_parse import LimitExceededError, check_mapping, json_depth, load_json, load_yaml

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def bomb(levels: int = 9) -> str:
    lines = ['x0: &x0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"x{i}: &x{i} [" + ",".join([f"*x{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return "\n".join(lines)


def test_an_anchor_bomb_is_refused_while_composing_in_milliseconds() -> None:
    started = time.perf_counter()
    with pytest.raises(LimitExceededError) as err:
        load_yaml(bomb())
    assert time.perf_counter() - started < 1.0
    assert err.value.limit == "max_yaml_nodes" and err.value.field == "spec"
    assert err.value.to_dict()["limit_value"] == str(safe_parse.MAX_YAML_NODES)


def test_aliases_within_the_budget_load_like_safe_load() -> None:
    text = "base: &b {lr: 0.1, depth: [1, 2]}\nruns: [*b, *b, *b]\n"
    assert load_yaml(text) == yaml.safe_load(text)
    small = bomb(levels=4)  # 9 + 81 + 729 + 6561 leaves: well inside the node budget
    assert load_yaml(small) == yaml.safe_load(small)


def test_every_example_spec_parses_exactly_as_before() -> None:
    for path in sorted(EXAMPLES.glob("*.yaml")):
        text = path.read_text()
        assert load_yaml(text) == yaml.safe_load(text), path.name


@pytest.mark.parametrize(
    "text",
    [
        "x: " + "[" * 1000 + "]" * 1000,
        "x: " + "{a: " * 200 + "1" + "}" * 200,
        # shallow text, deep once the alias is expanded: 40 + 30 levels
        "a: &a " + "[" * 40 + "1" + "]" * 40 + "\nb: " + "[" * 30 + "*a" + "]" * 30,
    ],
)
def test_deep_yaml_is_refused_naming_max_depth(text: str) -> None:
    with pytest.raises(LimitExceededError) as err:
        load_yaml(text)
    assert err.value.limit == "max_depth"


def test_a_recursive_alias_is_refused() -> None:
    with pytest.raises(ValidationError, match="refers to itself"):
        load_yaml("a: &a [1, *a]")


def test_oversized_and_invalid_yaml_are_400s_naming_spec() -> None:
    with pytest.raises(LimitExceededError) as err:
        load_yaml("x: " + "a" * safe_parse.MAX_SPEC_BYTES)
    assert err.value.limit == "max_spec_bytes"
    with pytest.raises(ValidationError, match="not valid YAML") as bad:
        load_yaml("a: [1, 2")
    assert bad.value.field == "spec"


def test_json_depth_skips_brackets_inside_strings() -> None:
    assert json_depth(b'{"a": "[[[[{{{", "b": [1, {"c": "\\"]]"}]}') == 3
    assert json_depth(b"[]") == 1 and json_depth(b'"x"') == 0


def test_deep_json_is_refused_before_json_loads_recurses() -> None:
    for depth in (65, 1000, 100_000):
        with pytest.raises(LimitExceededError) as err:
            load_json(b"[" * depth + b"]" * depth)
        assert err.value.limit == "max_depth" and err.value.field == "body"
    assert load_json(b"[" * 64 + b"]" * 64) is not None


def test_json_body_size_and_syntax_errors_name_the_body() -> None:
    with pytest.raises(LimitExceededError) as err:
        load_json(b"[1]", max_bytes=2)
    assert err.value.limit == "max_body_bytes"
    with pytest.raises(ValidationError, match="not valid JSON"):
        load_json(b"{nope")


def test_check_mapping_refuses_deep_or_big_parsed_specs() -> None:
    deep: dict[str, object] = {}
    node = deep
    for _ in range(100):
        node["x"] = {}
        node = node["x"]  # type: ignore[assignment]
    with pytest.raises(LimitExceededError):
        check_mapping(deep)
    with pytest.raises(LimitExceededError):
        check_mapping({"description": "a" * (safe_parse.MAX_SPEC_BYTES + 1)})


@pytest.mark.parametrize("bad", [42, None, [1, 2], 3.5, True])
def test_load_spec_refuses_what_is_neither_text_nor_a_mapping(bad: object) -> None:
    with pytest.raises(ValidationError) as err:
        load_spec(bad)  # type: ignore[arg-type]
    assert err.value.field == "spec"


def test_load_spec_refuses_a_bomb_and_a_deep_mapping_naming_the_limit() -> None:
    with pytest.raises(LimitExceededError):
        load_spec("name: bomb-spec\n" + bomb())
    with pytest.raises(LimitExceededError):
        load_spec(json.loads('{"name": "deep", "x": ' + "[" * 100 + "]" * 100 + "}"))
