"""scripts/demo.py, the main job on the real model: its summary puts the predicted triples next to the gold ones and
marks exact matches; `--toy` is the seconds-long path. (Fast: no model is loaded here; the demo's numbers on the
real model come from `python benchmarks/bench_real_demo.py`.)"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import demo  # noqa: E402


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_summary_shows_predicted_triples_next_to_gold_and_marks_exact_matches(tmp_path, capsys):
    valid = _jsonl(tmp_path / "valid.json", [
        {"id": 0, "instruction": "i", "input": "布达拉宫位于拉萨，是藏式建筑的代表。",
         "kg": [["布达拉宫", "位于", "拉萨"], ["布达拉宫", "类型", "宫殿"]]},
        {"id": 1, "instruction": "i", "input": "x" * 60, "kg": [["A", "r", "B"]]},
        {"id": 2, "instruction": "i", "input": "no answer", "kg": [["C", "r", "D"]]},
    ])
    triples = _jsonl(tmp_path / "triples.json", [
        {"id": 0, "kg": [["布达拉宫", "位于", "拉萨"], ["拉萨", "位于", "西藏"]], "status": "ok"},
        {"id": 1, "kg": [], "status": "unparsable"},
    ])
    demo.show_results(valid, triples, limit=3, width=10)
    lines = capsys.readouterr().out.splitlines()
    assert lines[-9:] == [
        "[0] 布达拉宫位于拉萨，是...",
        "   gold (布达拉宫,位于,拉萨) (布达拉宫,类型,宫殿)",
        "   pred (布达拉宫,位于,拉萨)* (拉萨,位于,西藏)",
        "[1] xxxxxxxxxx...",
        "   gold (A,r,B)",
        "   pred -   (unparsable)",
        "[2] no answer",
        "   gold (C,r,D)",
        "   pred -   (missing)",
    ]
    assert "first 3 of 3 valid records" in lines[-10]


def test_the_recipes_are_what_the_scripts_take_and_toy_is_a_switch():
    real = demo.RECIPES["real"]
    assert (real["template"], real["epochs"], real["learning_rate"], real["batch_size"]) == \
        ("chat_template", 3, 1e-3, 4)
    assert real["target_modules"].split(",") == ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
                                                 "down_proj"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "demo.py"), "--help"], capture_output=True,
                          text=True, env=env, timeout=120)
    assert done.returncode == 0 and "--toy" in done.stdout + done.stderr
