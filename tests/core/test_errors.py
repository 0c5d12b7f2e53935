"""The error hierarchy's docstring: the names it points readers to exist."""

from __future__ import annotations

import importlib
import re

import agentcontainers.errors as errors_module


def test_the_docstring_names_only_real_definitions():
    references = re.findall(r":(?:func|class|mod):`([\w.]+)`", errors_module.__doc__ or "")
    assert references, "the docstring should say where status codes are chosen"
    for reference in references:
        module_name, _, attribute = reference.rpartition(".")
        module = importlib.import_module(module_name)
        assert hasattr(module, attribute), f"{reference} does not exist"


def test_every_error_in_the_module_is_drawn_in_the_docstring():
    drawn = errors_module.__doc__ or ""
    for name, value in vars(errors_module).items():
        if isinstance(value, type) and issubclass(value, errors_module.AgentContainersError):
            assert name in drawn, f"{name} is missing from the hierarchy drawing"
