import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from core.errors import UserError
from core.io import (
    DataError,
    JsonlAppender,
    atomic_write,
    check_fields,
    read_json,
    read_records,
    write_json,
    write_jsonl,
)

REQ = {"instruction": str, "input": str, "output": str}


def test_jsonl_round_trip_keeps_unicode_and_order(tmp_path):
    recs = [{"id": i, "text": f"弗雷泽 {i} \"q\"\n😀"} for i in range(5)]
    path = write_jsonl(tmp_path / "a.jsonl", recs)
    back = read_records(path)
    assert [{k: v for k, v in r.items() if k != "__line__"} for r in back] == recs
    assert [r["__line__"] for r in back] == [1, 2, 3, 4, 5]
    assert "弗雷泽" in path.read_text(encoding="utf-8")


def test_json_array_is_read_with_the_line_of_each_record(tmp_path):
    p = tmp_path / "arr.json"
    p.write_text('[\n  {"a": 1},\n\n  {"a": 2}\n]\n', encoding="utf-8")
    assert [(r["a"], r["__line__"]) for r in read_records(p)] == [(1, 2), (2, 4)]


def test_single_object_file_is_one_record_when_allowed(tmp_path):
    p = tmp_path / "example.json"
    p.write_text('{\n "text": "A works for B",\n "triple_list": [["A", "Work for", "B"]]\n}\n', encoding="utf-8")
    recs = read_records(p, allow_single=True)
    assert len(recs) == 1 and recs[0]["triple_list"] == [["A", "Work for", "B"]]


def test_malformed_jsonl_names_file_and_line(tmp_path):
    p = tmp_path / "train.json"
    p.write_text('{"instruction": "a", "input": "b", "output": "c"}\n{"instruction": oops}\n', encoding="utf-8")
    with pytest.raises(DataError) as exc:
        read_records(p, required=REQ)
    assert str(exc.value).startswith("train.json:2: not valid JSON")


def test_malformed_json_array_names_the_line(tmp_path):
    p = tmp_path / "arr.json"
    p.write_text('[\n {"a": 1},\n {"a": }\n]', encoding="utf-8")
    with pytest.raises(DataError, match=r"^arr\.json:3: not valid JSON"):
        read_records(p)


def test_missing_field_and_wrong_type_give_file_line_field(tmp_path):
    p = tmp_path / "train.json"
    lines = [
        {"instruction": "a", "input": "b", "output": "c"},
        {"instruction": "a", "input": "b"},
    ]
    p.write_text("\n".join(json.dumps(x) for x in lines), encoding="utf-8")
    with pytest.raises(DataError) as exc:
        read_records(p, required=REQ)
    assert str(exc.value) == 'train.json:2: field "output": missing'
    p.write_text(json.dumps({"instruction": "a", "input": "b", "output": 3}) + "\n", encoding="utf-8")
    with pytest.raises(DataError) as exc:
        read_records(p, required=REQ)
    assert str(exc.value) == 'train.json:1: field "output": expected a string'


def test_bool_is_not_an_integer_and_int_is_a_number(tmp_path):
    with pytest.raises(DataError, match="expected an integer"):
        check_fields({"n": True}, "x.json", 1, required={"n": int})
    assert check_fields({"n": 3}, "x.json", 1, required={"n": float})["n"] == 3


def test_missing_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        read_records(tmp_path / "nope.json")
    with pytest.raises(UserError, match="is a folder"):
        read_records(tmp_path)


def test_read_json_error_has_line(tmp_path):
    p = tmp_path / "c.json"
    p.write_text('{\n "a": 1,\n}', encoding="utf-8")
    with pytest.raises(DataError, match=r"^c\.json:3:"):
        read_json(p)


def test_atomic_write_exception_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    p = tmp_path / "out.json"
    write_json(p, {"old": True})
    with pytest.raises(RuntimeError):
        with atomic_write(p) as fh:
            fh.write('{"new": ')
            raise RuntimeError("crash mid-write")
    assert json.loads(p.read_text()) == {"old": True}
    assert sorted(x.name for x in tmp_path.iterdir()) == ["out.json"]


def test_atomic_write_killed_process_leaves_no_partial_file(tmp_path):
    target = tmp_path / "big.json"
    code = textwrap.dedent(f"""
        import os, signal, sys
        from core.io import atomic_write
        with atomic_write({str(target)!r}) as fh:
            fh.write("[" + "1," * 100000)
            fh.flush()
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path)
    assert proc.returncode == -signal.SIGKILL
    assert not target.exists()


def test_appender_skips_done_ids_and_writes_nothing_twice(tmp_path):
    p = tmp_path / "out.jsonl"
    with JsonlAppender(p) as out:
        for i in range(3):
            out.append({"id": i, "v": i})
    with JsonlAppender(p) as out:
        assert 0 in out and 2 in out and 3 not in out and len(out) == 3
        for i in range(5):
            if i not in out:
                out.append({"id": i, "v": i})
        out.append({"id": 1, "v": "again"})
    ids = [json.loads(x)["id"] for x in p.read_text().splitlines()]
    assert ids == [0, 1, 2, 3, 4]


def test_appender_cuts_a_torn_last_line(tmp_path):
    p = tmp_path / "out.jsonl"
    p.write_text('{"id": "a"}\n{"id": "b", "v": "trunc', encoding="utf-8")
    with JsonlAppender(p) as out:
        assert "a" in out and "b" not in out
        out.append({"id": "b"})
    assert [json.loads(x)["id"] for x in p.read_text().splitlines()] == ["a", "b"]


def test_appender_survives_sigkill_between_records(tmp_path):
    p = tmp_path / "out.jsonl"
    code = textwrap.dedent(f"""
        import os, signal
        from core.io import JsonlAppender
        out = JsonlAppender({str(p)!r})
        for i in range(10):
            if i == 4:
                os.kill(os.getpid(), signal.SIGKILL)
            out.append({{"id": i}})
    """)
    subprocess.run([sys.executable, "-c", code])
    with JsonlAppender(p) as out:
        assert sorted(out.done) == [0, 1, 2, 3]
        for i in range(10):
            if i not in out:
                out.append({"id": i})
    assert [json.loads(x)["id"] for x in p.read_text().splitlines()] == list(range(10))


def test_guard_turns_user_error_into_one_line_and_exit_2(tmp_path):
    code = "import sys\nfrom core.errors import guard\nfrom core.io import read_records\nguard(read_records)(sys.argv[1])"
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "missing.json")], capture_output=True, text=True,
                          env={**os.environ, "PAGER": "cat"})
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"error: missing.json: no such file: {tmp_path / 'missing.json'}"]


def test_line_separator_inside_a_jsonl_string_is_not_a_line_break(tmp_path):
    p = tmp_path / "u2028.jsonl"
    p.write_text(json.dumps({"id": 1, "t": "a\u2028b\x85c"}, ensure_ascii=False) + "\n" + '{"id": 2}\n', encoding="utf-8")
    assert [r["id"] for r in read_records(p)] == [1, 2]
    with JsonlAppender(p) as out:
        assert 1 in out and 2 in out


def test_atomic_write_gives_normal_permissions(tmp_path):
    p = write_json(tmp_path / "x.json", {})
    mask = os.umask(0)
    os.umask(mask)
    assert p.stat().st_mode & 0o777 == 0o666 & ~mask


def test_cli_output_into_a_closed_pipe_stops_quietly():
    code = "from core.errors import guard\ndef spam():\n    for i in range(200000):\n        print('line', i)\nguard(spam)()"
    proc = subprocess.run(f'{sys.executable} -c "{code}" | head -n 1', shell=True, capture_output=True, text=True,
                          executable="/bin/bash")
    assert proc.stdout == "line 0\n"
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr


