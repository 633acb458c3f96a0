"""core.parsing.pysyntax: parsing Python from several threads at once never trips CPython's AST depth check
(python/cpython#106905: 'AST constructor recursion depth mismatch' when a finalizer lets another thread in)."""

import threading

from core.parsing.pysyntax import parse_python
from core.tasks.code_parse import parse_code

CODE = "\n".join(f"class C{i}(Entity):\n    def f(self, x=[1, (2, {{3: [4, 5]}})]):\n        return [a for a in x]"
                 for i in range(30))


class Finalized:
    def __del__(self):
        sum(range(200))  # Python code run by the garbage collector, in the middle of another thread's parse


def hammer(parse, threads: int = 8, rounds: int = 150) -> list[BaseException]:
    errors: list[BaseException] = []

    def work():
        for _ in range(rounds):
            cycle = Finalized()
            cycle.me = cycle  # only the cyclic collector frees it, at some allocation inside a parse
            try:
                parse()
            except SystemError as exc:
                errors.append(exc)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return errors


def test_parsing_from_many_threads_never_fails():
    assert hammer(lambda: parse_python(CODE)) == []


def test_code_answers_parsed_from_many_threads_all_read_the_same():
    answer = 'extract = Extract([Triple(Person("Ann"), Rel("works for"), Org("IBM"))])'
    results = []
    errors = hammer(lambda: results.append(parse_code(answer).status), threads=4, rounds=50)
    assert errors == [] and len(set(results)) == 1 and len(results) == 200


def test_it_parses_what_ast_parses():
    assert parse_python("x = [1, 'a']").body[0].targets[0].id == "x"
    assert parse_python("f(1)", mode="eval").body.func.id == "f"
