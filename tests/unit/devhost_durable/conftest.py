"""Unit-test helpers: the durable test app's functions, loaded once."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

from devhost.durable.registry import FunctionRegistry

APP = Path(__file__).resolve().parents[2] / "apps" / "durable_app" / "function_app.py"


@pytest.fixture(scope="session")
def registry() -> FunctionRegistry:
    """The test app's orchestrators and activities."""
    name = "durable_test_app"
    module: Any = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(name, APP)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        module.FUNCTIONS = module.app.get_functions()
    return FunctionRegistry.from_functions(module.FUNCTIONS)
