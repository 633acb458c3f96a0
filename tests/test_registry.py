"""core.registry.Registry: the one rule for named plug-ins (a taken name is refused), and each registry uses it."""

import pytest

from core.registry import Registry


def test_add_keeps_order_returns_the_item_and_refuses_a_taken_name():
    r = Registry("color")
    assert r.add("red", 1) == 1 and r.add("blue", 2) == 2
    assert list(r) == ["red", "blue"] and r["blue"] == 2 and "red" in r
    with pytest.raises(ValueError, match=r"^color 'red' is already registered$"):
        r.add("red", 3)
    assert r["red"] == 1  # the first stays


@pytest.mark.parametrize("module, name", [
    ("core.cli", "COMMANDS"), ("core.realmodels", "MODELS"), ("core.tasks.base", "TASKS"),
    ("core.extract.readers", "READERS"), ("core.extract.extractors", "EXTRACTORS"), ("core.llm.base", "_REGISTRY"),
    ("core.kg.readers", "SHAPES"), ("core.kg.exporters", "EXPORTERS"), ("core.templates", "_REGISTRY"),
])
def test_every_registry_of_the_project_is_one(module, name):
    import importlib

    registry = getattr(importlib.import_module(module), name)
    assert isinstance(registry, Registry)
    taken = next(iter(registry)) if registry else None
    if taken is not None:
        with pytest.raises(ValueError, match="already registered"):
            registry.add(taken, object())
