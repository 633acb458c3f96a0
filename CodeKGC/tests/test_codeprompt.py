"""Prompt building (core's `code` task): seed files + text -> the exact prompt; JSON schema -> classes -> the parser
reads generated demos back."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.io import DataError
from core.schema import Schema
from core.tasks.code import CodeTask
from core.tasks.code_parse import parse_code
from core.tasks.code_schema import extract_code, load_schema, schema_from_code, schema_from_json

CASE = Path(__file__).resolve().parents[1]
DATA = CASE / "data"


def test_schema_file_icl_file_and_text_give_the_expected_prompt(tmp_path):
    (tmp_path / "schema_prompt").write_text("class Rel:\n    pass\nclass Kill(Rel):\n    pass\n", encoding="utf-8")
    (tmp_path / "ICL_prompt").write_text(
        '""" A killed B . """\nextract = Extract([Triple(person(\'A\'), Rel(\'Kill\'), person(\'B\')),])\n\n',
        encoding="utf-8")
    task = CodeTask(load_schema(tmp_path / "schema_prompt"))
    icl = task.demos_code(tmp_path / "ICL_prompt")
    prompt = task.prompt(task.schema.code, icl, 'C shot D in "Paris" \\ France .')
    assert prompt == (
        "class Rel:\n    pass\nclass Kill(Rel):\n    pass\n"
        "\n"
        '""" A killed B . """\nextract = Extract([Triple(person(\'A\'), Rel(\'Kill\'), person(\'B\')),])\n'
        "\n"
        '""" C shot D in "Paris" \\\\ France . """\n'
    )


def test_seed_schema_prompt_is_read_without_running_it():
    schema = load_schema(DATA / "schema_prompt")
    assert schema.relations == ["Work for", "Kill", "Organization based in", "Live in", "Located in"]
    assert schema.relation_classes["Organization_based_in"] == "Organization based in"
    assert schema.entity_classes == {"person": "person", "organization": "organization", "location": "location"}


def test_shipped_schema_prompt_and_icl_prompt_are_what_the_json_files_generate():
    task = CodeTask(load_schema(DATA / "schema.json"))
    assert task.schema.code == (DATA / "schema_prompt").read_text(encoding="utf-8")
    assert task.demos_code(DATA / "demos.json") == (DATA / "ICL_prompt").read_text(encoding="utf-8")


def test_json_schema_round_trip_through_generated_classes_and_demos(tmp_path):
    schema = schema_from_json(Schema.from_dict({
        "entity_types": ["sports team", "person", "class", "城市"],
        "relation_types": ["plays for", "born-in", "Work for"],
        "relations": {"plays for": ["person", "sports team"], "born-in": ["person", "城市"]},
    }))
    assert "class sports_team(Entity):" in schema.code and '""" sports team """' in schema.code
    assert "class class_(Entity):" in schema.code and "class 城市(Entity):" in schema.code
    assert "class born_in(Rel):" in schema.code and '""" born-in """' in schema.code
    # the generated code is valid Python and reads back to the same names, with no code run
    assert schema_from_code(schema.code).entity_classes == schema.entity_classes
    assert schema_from_code(schema.code).relation_classes == schema.relation_classes
    records = [
        {"text": "Ann O'Hara plays for the Tigers .", "triple_list": [["Ann O'Hara", "plays for", "the Tigers"]]},
        {"text": 'Bo "Li" was born in 北京 .', "triple_list": [
            {"head": 'Bo "Li"', "relation": "born-in", "tail": "北京"},
            {"head": "Bo", "head_type": "class", "relation": "Work for", "tail": "X\\Y", "tail_type": "sports team"}]},
        {"text": "Nothing here .", "triple_list": []},
    ]
    demos = tmp_path / "demos.jsonl"
    demos.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    code = CodeTask(schema).demos_code(demos)
    statements = [line for line in code.split('"""') if "extract =" in line]
    assert len(statements) == 3
    parsed = [parse_code(s, schema) for s in statements]
    assert [p.status for p in parsed] == ["ok", "ok", "ok"]
    assert parsed[0].pred == [{"head": "Ann O'Hara", "head_type": "person", "relation": "plays for",
                                  "tail": "the Tigers", "tail_type": "sports team"}]
    assert parsed[1].pred == [
        {"head": 'Bo "Li"', "head_type": "person", "relation": "born-in", "tail": "北京", "tail_type": "城市"},
        {"head": "Bo", "head_type": "class", "relation": "Work for", "tail": "X\\Y", "tail_type": "sports team"},
    ]
    assert parsed[2].pred == []


def test_untyped_triple_without_signature_uses_the_entity_base_class():
    schema = schema_from_json(Schema(["person"], ["knows"]))
    assert extract_code([{"head": "A", "relation": "knows", "tail": "B"}], schema) == (
        "extract = Extract([Triple(Entity('A'), Rel('knows'), Entity('B')),])")


def test_chat_messages_wrap_the_same_code_after_an_instruction():
    messages = CodeTask.chat_messages("CODE\n")
    assert messages[0] == {"role": "system", "content": "You are a Python coding assistant. You reply with code only."}
    assert messages[1]["content"].startswith("Continue the Python code below: write the single `extract = ")
    assert messages[1]["content"].endswith("and nothing else.\n\nCODE\n")


def test_stop_sequences_end_the_answer_after_one_statement():
    assert CodeTask.stop(chat=False) == ['\n"""', "\nextract"]
    assert CodeTask.stop(chat=True) == ['\n"""']  # a chat answer may open a fence: "```python\nextract = ..."
    answer = "extract = Extract([])\n\n\"\"\" next text \"\"\"\nextract = Extract([])"
    cut = min(answer.find(s) for s in CodeTask.stop(chat=False) if s in answer)
    assert answer[:cut].rstrip() == "extract = Extract([])"


def test_bad_schema_file_names_file_and_line(tmp_path):
    bad = tmp_path / "schema_prompt"
    bad.write_text("class Rel:\n    def (\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"schema_prompt:2: not valid Python"):
        load_schema(bad)


def test_bad_demo_record_names_file_line_and_field(tmp_path):
    demos = tmp_path / "demos.jsonl"
    demos.write_text('{"text": "a", "triple_list": []}\n{"text": "b", "triple_list": [["x", "y"]]}\n',
                     encoding="utf-8")
    task = CodeTask(load_schema(DATA / "schema.json"))
    with pytest.raises(DataError, match=r'demos.jsonl:2: field "triple_list": each item must be'):
        task.demos_code(demos)


def test_codeprompt_cli_prints_the_prompt(tmp_path):
    out = subprocess.run([sys.executable, str(CASE / "codeprompt.py"), str(DATA / "schema.json"),
                          str(DATA / "demos.json"), "Ann Lee works for Acme ."],
                         capture_output=True, text=True, check=True, cwd=tmp_path)
    assert out.stdout.startswith("from typing import List\n")
    assert out.stdout.endswith('""" Ann Lee works for Acme . """\n')


@pytest.mark.parametrize("script", ["codeprompt.py", "codeparse.py", "codescore.py"])
def test_helper_scripts_answer_help(script, tmp_path):
    out = subprocess.run([sys.executable, str(CASE / script), "--help"], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0 and f"\nusage: {script} " in out.stdout, out.stderr
    assert out.stdout.splitlines()[2].strip().startswith("python CodeKGC/" + script)  # the docstring's command


def test_codeparse_cli_prints_triples_status_and_issues(tmp_path):
    out = subprocess.run([sys.executable, str(CASE / "codeparse.py"), "__import__('os').system('touch /tmp/x')"],
                         capture_output=True, text=True, check=True, cwd=tmp_path)
    assert json.loads(out.stdout) == {"triples": [], "status": "unparsable",
                                      "issues": ["rejected: only calls to class names are allowed"]}
