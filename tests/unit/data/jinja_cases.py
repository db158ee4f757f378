"""Writes tests/unit/data/jinja_cases.inc: the table test_jinja.cpp checks the native
Jinja engine against. Each expected output (or error) comes from jinja2 as transformers
configures it (its _compile_jinja_template), so rerun this after changing a case:

    python tests/unit/data/jinja_cases.py > tests/unit/data/jinja_cases.inc
"""

import json
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from transformers.utils.chat_template_utils import _compile_jinja_template  # noqa: E402

MSGS = [{"role": "system", "content": "S"}, {"role": "user", "content": "U1"},
        {"role": "assistant", "content": "A1"}, {"role": "user", "content": "U2"}]

CASES = [
    # Text, output and whitespace control.
    ("text", "plain text", {}),
    ("output", "a{{ x }}b", {"x": "X"}),
    ("undefined prints nothing", "[{{ missing }}]", {}),
    ("none and bools", "{{ none }} {{ true }} {{ false }} {{ None }} {{ True }}", {}),
    ("comment", "a{# gone #}b", {}),
    ("trim_blocks", "{% if true %}\nx\n{% endif %}\ny", {}),
    ("lstrip_blocks", "a\n    {% if true %}\n    b\n    {% endif %}\nc", {}),
    ("lstrip comment", "a\n  {# c #}\nb", {}),
    ("minus trims", "a   {{- 'b' -}}   c  {%- if true -%}  d  {%- endif %}", {}),
    ("plus keeps", "a\n  {%+ if true %}x{% endif +%}\ny", {}),
    ("output keeps newline", "{{ 'a' }}\n{{ 'b' }}\n", {}),
    ("trailing newline dropped", "x\n", {}),
    ("crlf normalised", "a\r\nb{% if true %}\r\nc{% endif %}", {}),
    # Statements.
    ("if elif else", "{% for n in [1, 2, 3] %}{% if n == 1 %}one{% elif n == 2 %}two{% else %}many{% endif %},"
     "{% endfor %}", {}),
    ("loop variables", "{% for x in items %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}"
     "{{ loop.length }}{{ loop.revindex }}{{ loop.revindex0 }};{% endfor %}", {"items": ["a", "b", "c"]}),
    ("loop previtem nextitem", "{% for x in [1, 2, 3] %}{{ loop.previtem }}<{{ x }}>{{ loop.nextitem }}|"
     "{% endfor %}", {}),
    ("loop cycle", "{% for x in [1, 2, 3] %}{{ loop.cycle('a', 'b') }}{% endfor %}", {}),
    ("nested loops", "{% for a in [1, 2] %}{% for b in 'xy' %}{{ a }}{{ b }}{{ loop.index }}"
     "{% endfor %}{{ loop.index }};{% endfor %}", {}),
    ("for else", "{% for x in [] %}x{% else %}empty{% endfor %}", {}),
    ("for over undefined", "{% for x in nothing %}x{% else %}none{% endfor %}", {}),
    ("for with condition", "{% for x in [1, 2, 3, 4] if x % 2 == 0 %}{{ loop.index }}:{{ x }}"
     "{% if not loop.last %},{% endif %}{% endfor %}", {}),
    ("for unpack", "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}", {"d": {"x": 1, "y": "z", "a": None}}),
    ("for over dict", "{% for k in d %}{{ k }}{% endfor %}", {"d": {"b": 1, "a": 2}}),
    ("for over string", "{% for c in 'héllo' %}{{ c }}.{% endfor %}", {}),
    ("break continue", "{% for n in [1, 2, 3, 4] %}{% if n == 2 %}{% continue %}{% endif %}"
     "{% if n == 4 %}{% break %}{% endif %}{{ n }}{% endfor %}", {}),
    ("set and scope", "{% set a = 1 %}{% for x in [1] %}{% set a = 2 %}{{ a }}{% endfor %}{{ a }}"
     "{% if true %}{% set b = 3 %}{% endif %}{{ b }}", {}),
    ("set tuple", "{% set a, b = 1, 2 %}{{ a }}{{ b }}", {}),
    ("set block", "{% set x %}in {{ 'block' }}{% endset %}[{{ x }}]", {}),
    ("set block filtered", "{% set x | upper %}shout{% endset %}{{ x }}", {}),
    ("namespace", "{% set ns = namespace(total=0, seen=false) %}{% for x in [1, 2, 3] %}"
     "{% set ns.total = ns.total + x %}{% if x == 2 %}{% set ns.seen = true %}{% endif %}"
     "{% endfor %}{{ ns.total }} {{ ns.seen }}", {}),
    ("namespace added attribute", "{% set ns = namespace() %}{% set ns.a = 'x' %}{{ ns.a }}{{ ns['a'] }}", {}),
    ("macro", "{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}"
     "{{ greet('A') }} {{ greet('B', '?') }} {{ greet(name='C', punct='.') }}", {}),
    ("macro sees globals", "{% set g = 'G' %}{% macro m() %}{{ g }}{{ x }}{% endmacro %}{{ m() }}", {"x": "X"}),
    ("recursive macro", "{% macro f(n) %}{% if n > 0 %}{{ n }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(4) }}", {}),
    ("call block", "{% macro wrap() %}[{{ caller() }}]{% endmacro %}{% call wrap() %}inner{% endcall %}", {}),
    ("filter block", "{% filter upper %}hello {{ 'you' }}{% endfilter %}", {}),
    ("generation block", "a{% generation %}b{{ 'c' }}{% endgeneration %}d", {}),
    # Expressions.
    ("arithmetic", "{{ 1 + 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 2 * 3 - 1 }} {{ -4 }} "
     "{{ 1.5 + 1 }} {{ 7 / 2 }} {{ 6 / 2 }} {{ 2 ** 10 }} {{ 2 ** -1 }} {{ 7.5 // 2 }} {{ 1e3 }} {{ 0.1 + 0.2 }}", {}),
    ("floats", "{{ 1.0 }} {{ 1e16 }} {{ 1.5e-5 }} {{ 123456789.125 }} {{ 0.0001 }} {{ 3.0 * 2 }}", {}),
    ("string ops", "{{ 'ab' * 3 }} {{ 'a' + 'b' }} {{ [1] + [2] }} {{ [0] * 2 }}", {}),
    ("concat", "{{ 'n=' ~ 3 ~ true ~ none ~ missing ~ 1.5 }}", {}),
    ("comparisons", "{{ 1 < 2 }}{{ 2 <= 1 }}{{ 'a' == 'a' }}{{ 'a' != 'a' }}{{ 3 > 2 }}{{ 1 >= 1 }}"
     "{{ 1 == 1.0 }}{{ true == 1 }}{{ 1 < 2 < 3 }}{{ 3 > 2 > 5 }}{{ 'b' > 'a' }}", {}),
    ("logic returns operands", "{{ true and false }}{{ 'x' or 'y' }}{{ '' or 'y' }}{{ 0 and 1 }}{{ not true }}"
     "{{ not (1 == 2) }}", {}),
    ("in", "{{ 'b' in 'abc' }}{{ 2 in [1, 2] }}{{ 'k' in d }}{{ 'q' not in d }}{{ 'x' in nothing }}",
     {"d": {"k": 1}}),
    ("tests", "{{ x is defined }}{{ y is defined }}{{ y is not defined }}{{ n is none }}{{ s is string }}"
     "{{ x is number }}{{ x is integer }}{{ 1.5 is float }}{{ d is mapping }}{{ l is iterable }}"
     "{{ s is iterable }}{{ x is iterable }}{{ true is boolean }}{{ false is false }}{{ 3 is odd }}"
     "{{ 4 is even }}{{ 9 is divisibleby 3 }}{{ x is equalto 1 }}{{ x is sameas 1 }}{{ s is lower }}"
     "{{ range is callable }}{{ x is eq(1) }}{{ 2 is gt 1 }}{{ 'a' is in 'abc' }}",
     {"x": 1, "n": None, "s": "s", "d": {}, "l": []}),
    ("inline if", "{{ 'yes' if flag else 'no' }}[{{ 'a' if false }}]", {"flag": True}),
    ("subscripts", "{{ xs[0] }}{{ xs[-1] }}{{ xs[1:] }}{{ xs[:2] }}{{ 'hello'[1:3] }}{{ d['k'] }}{{ d.k }}"
     "[{{ xs[10] }}][{{ d.nope }}]{{ xs.0 }}", {"xs": [1, 2, 3], "d": {"k": "v"}}),
    ("slice steps", "{{ xs[::-1] }}{{ xs[::2] }}{{ xs[1::2] }}{{ xs[-1:0:-1] }}{{ xs[:-2:-1] }}{{ 'abc'[::-1] }}"
     "{{ 'añb'[1] }}{{ 'añb'[-2:] }}", {"xs": [1, 2, 3, 4, 5]}),
    ("literals", "{{ [1, 'a', none, true, 1.5] }}{{ {'k': 1, 'j': [2]} }}{{ (1, 'x') }}{{ (1,) }}{{ {'k': 1}['k'] }}"
     "{{ 'it\\'s' }} {{ \"say \\\"hi\\\"\" }} {{ 'a\\tb\\u00e9' }}", {}),
    ("repr", "{{ ['a\\'b', 'c\"d', 'é\\n'] }}{{ d }}", {"d": {"x": [1, {"y": None}], "z": 2.0}}),
    ("adjacent strings", "{{ 'a' 'b' }}", {}),
    # Filters.
    ("filters", "{{ '  x  ' | trim }}|{{ xs | length }}|{{ 'Ab' | upper }}{{ 'Ab' | lower }}|"
     "{{ xs | join('-') }}|{{ xs | first }}{{ xs | last }}|{{ missing | default('d') }}|{{ '' | default('e', true) }}|"
     "{{ 5 | string }}|{{ 'héllo' | length }}|{{ 'hello world' | capitalize }}|{{ 'a-b c' | title }}",
     {"xs": [1, 2, 3]}),
    ("filter precedence", "{{ 'a' + ' b ' | trim + 'c' }}{{ -1 | abs }}{{ -(xs | length) }}", {"xs": [1]}),
    ("tojson", "{{ d | tojson }}|{{ 'é\"\\n' | tojson }}|{{ none | tojson }}|{{ [1.0, 2.5, true] | tojson }}",
     {"d": {"b": [1, "x", None, True], "a": {"c": "ü"}}}),
    ("tojson indent", "{{ d | tojson(indent=4) }}|{{ d | tojson(indent=2, sort_keys=true) }}|"
     "{{ d | tojson(separators=(',', ':')) }}", {"d": {"b": [1, {"c": "x"}], "a": {}, "e": []}}),
    ("items keys values", "{{ d | items | list }}{{ d.items() | list }}{{ d.keys() | list }}{{ d.values() | list }}"
     "{{ d.get('a') }}{{ d.get('q') }}{{ d.get('q', 'z') }}", {"d": {"a": 1, "b": "2"}}),
    ("selectattr map", "{{ m | selectattr('role', 'equalto', 'user') | map(attribute='content') | join(',') }}|"
     "{{ m | rejectattr('role', 'equalto', 'user') | list | length }}|{{ m | map(attribute='role') | list }}|"
     "{{ [1, 0, 2] | select | list }}|{{ [1, 2, 3] | reject('odd') | list }}|{{ ['a', 'b'] | map('upper') | list }}",
     {"m": MSGS}),
    ("selectattr truthy", "{% for i in items | selectattr('on') %}{{ i.n }}{% endfor %}",
     {"items": [{"n": 1, "on": True}, {"n": 2, "on": False}, {"n": 3}]}),
    ("list string int", "{{ 'ab' | list }}{{ [1, 'a'] | string }}{{ '42' | int + 1 }}{{ 'x' | int }}{{ 3.9 | int }}"
     "{{ '2.5' | float }}", {}),
    ("replace", "{{ 'aXbXc' | replace('X', '-') }}{{ 'aaa' | replace('a', 'b', 2) }}{{ 'ab'.replace('b', 'c') }}",
     {}),
    ("indent", "[{{ 'a\\nb\\n\\nc' | indent(2) }}][{{ 'a\\nb' | indent(4, true) }}][{{ 'a\\n\\nb' | indent(2, blank=true) }}]",
     {}),
    ("unique reverse sum", "{{ [1, 2, 1, 3] | unique | list }}{{ [1, 2, 3] | reverse | list }}{{ [1, 2, 3] | sum }}",
     {}),
    # Methods.
    ("string methods", "{{ ' x '.strip() }}{{ 'abc'.startswith('ab') }}{{ 'abc'.endswith('x') }}"
     "{{ 'abc'.startswith(('x', 'a')) }}{{ 'ab'.upper() }}{{ 'hello world'.title() }}{{ ' x '.lstrip() }}|"
     "{{ ' x '.rstrip() }}|{{ 'Ab'.lower() }}{{ 'ab'.capitalize() }}{{ 'abcb'.find('b') }}{{ 'abcb'.count('b') }}"
     "{{ '-'.join(['a', 'b']) }}", {}),
    ("strip characters", "[{{ '\\n\\nx\\n'.strip('\\n') }}][{{ 'xxay'.lstrip('x') }}][{{ 'ayyx'.rstrip('xy') }}]"
     "[{{ ' a '.strip(none) }}][{{ '\\u3000a\\u00a0'.strip() }}]", {}),
    ("split", "{{ 'a<b>c<b>'.split('<b>') }}{{ ' a  b '.split() }}{{ 'x'.split(',') }}{{ 'a,b,c'.split(',', 1) }}"
     "{{ 'a,b,c'.rsplit(',', 1) }}{{ ' a b c '.rsplit(none, 1) }}{{ 'r</think>a'.split('</think>')[-1] }}", {}),
    # Globals.
    ("range", "{% for i in range(3) %}{{ i }}{% endfor %}{{ range(1, 8, 3) | list }}{{ range(3, -1, -1) | list }}"
     "{{ range(0, 3, -1) | list }}", {}),
    ("dict global", "{{ dict(a=1, b='x') }}{{ dict(d, c=3) }}", {"d": {"a": 0}}),
    ("chat template", "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'system' %}<<{{ m.content }}>>"
     "{% else %}[{{ m.role | upper }}] {{ m.content | trim }}{% endif %}\n{% endfor %}"
     "{% if add_generation_prompt %}[ASSISTANT]{% endif %}",
     {"messages": MSGS, "bos_token": "<s>", "add_generation_prompt": True}),
    # Errors.
    ("raise_exception", "line1\n{{ raise_exception('Roles must alternate!') }}", {}),
    ("attribute of undefined", "{{ foo.bar }}", {}),
    ("undefined plus string", "{{ missing + 'x' }}", {}),
    ("int plus string", "{{ 1 + 'x' }}", {}),
    ("unknown filter", "{{ 'x' | frobnicate }}", {}),
    ("unknown test", "{{ 'x' is frobnicated }}", {}),
    ("items of a list", "{{ [1] | items | list }}", {}),
    ("division by zero", "{{ 1 / 0 }}", {}),
    ("namespace underscore", "{% set ns = namespace() %}{% set ns._x = 1 %}", {}),
    ("set attribute on dict", "{% set d = {} %}{% set d.a = 1 %}", {}),
    ("syntax: unclosed if", "{% if true %}x", {}),
    ("syntax: unknown tag", "{% frobnicate %}", {}),
    ("syntax: bad expression", "{{ 1 + }}", {}),
    ("syntax: unclosed string", "{{ 'abc }}", {}),
]


def cxx(s):
    assert ")JJ\"" not in s
    return 'R"JJ(' + s + ')JJ"'


def main():
    print("// Generated by tests/unit/data/jinja_cases.py from jinja2 " + __import__("jinja2").__version__ +
          " as transformers configures it: do not edit.")
    for name, template, context in CASES:
        try:
            expected, error = _compile_jinja_template(template).render(**context), False
        except Exception as e:  # noqa: BLE001 - the error is the expected outcome
            expected, error = str(e), True
        print("{" + ", ".join([cxx(name), cxx(template), cxx(json.dumps(context, ensure_ascii=False)),
                               cxx(expected), "true" if error else "false"]) + "},")


if __name__ == "__main__":
    main()
