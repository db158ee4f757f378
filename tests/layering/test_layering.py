#!/usr/bin/env python3
"""The layering check (cmake/check_layering.py) passes on the real tree, and fires, naming
the file and line, on a copy of the tree with a deliberately forbidden include or link.

  test_layering.py real    --checker C --graph G --root SRC
  test_layering.py fixture --checker C --graph G --root SRC --tmp DIR

The fixture copies the tree's C++ and CMake files (no build outputs) to DIR and, one case
at a time, adds one forbidden include (or drops one declared link from a copy of the
graph), or declares one link that cmake/layering_allowed.txt forbids (in the library's
CMake file and in a copy of the graph), runs the check and asserts it fails with exactly
that file:line and message, then undoes the case. The files it edits are picked from the
graph (a library's first source, its CMake folder), not by name, so the test survives
files being renamed.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys

CXX_EXTS = (".h", ".hpp", ".cpp", ".cc")
CMAKE_EXTS = ("CMakeLists.txt", ".cmake")


def run_check(checker, root, graph):
    p = subprocess.run([sys.executable, checker, "--root", root, "--graph", graph],
                       capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def read_graph(path):
    """{target: {"dir": folder, "sources": [...]}} from graph.txt."""
    targets, current = {}, None
    with open(path, encoding="utf-8") as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition(" ")
            if key == "target":
                current = targets.setdefault(value.split(" ")[0], {"dir": None, "sources": []})
            elif key == "dir" and current is not None:
                current["dir"] = value
            elif key == "source" and current is not None:
                current["sources"].append(value)
    return targets


def first_source(targets, target, ext=".cpp"):
    for s in targets[target]["sources"]:
        if s.endswith(ext):
            return s
    raise AssertionError(f"{target} has no {ext} source in the graph")


def copy_tree(src, dst, graph):
    """The C++ and CMake files of every top-level folder that holds a target's source."""
    tops = set()
    for t in read_graph(graph).values():
        tops.update(s.split(os.sep)[0] for s in t["sources"] if os.sep in s)
    if os.path.exists(dst):
        shutil.rmtree(dst)
    os.makedirs(dst)

    def ignore(dirpath, names):
        out = []
        for n in names:
            full = os.path.join(dirpath, n)
            if os.path.isdir(full):
                if n.startswith(".") or os.path.exists(os.path.join(full, "CMakeCache.txt")):
                    out.append(n)
            elif not n.endswith(CXX_EXTS + CMAKE_EXTS):
                out.append(n)
        return out

    for top in sorted(tops):
        shutil.copytree(os.path.join(src, top), os.path.join(dst, top), ignore=ignore)


class Case:
    """Append LINE to FILE (inside the copy) — or insert it after the first line matching
    AFTER — optionally edit the graph, and expect the check to fail at FILE:<that line> with
    "<LINE>: EXPECT" (an include), or with EXPECT alone when ECHO is false (a link); the only
    problem unless ONLY is false."""

    def __init__(self, name, file, line, expect, graph_edit=None, only=True, after=None, echo=True):
        self.name, self.file, self.line, self.expect = name, file, line, expect
        self.graph_edit, self.only, self.after, self.echo = graph_edit, only, after, echo


def run_case(case, checker, root, graph, failures):
    path = os.path.join(root, case.file)
    with open(path, encoding="utf-8") as f:
        original = f.read()
    graph_used = graph
    try:
        text = original if original.endswith("\n") else original + "\n"
        if case.after:
            lines = text.split("\n")
            at = next(i for i, l in enumerate(lines) if re.search(case.after, l)) + 1
            lines.insert(at, case.line)
            lineno, text = at + 1, "\n".join(lines)
        else:
            lineno, text = text.count("\n") + 1, text + case.line + "\n"
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        if case.graph_edit:
            graph_used = os.path.join(root, "graph.edited.txt")
            with open(graph, encoding="utf-8") as f:
                edited = case.graph_edit(f.read())
            with open(graph_used, "w", encoding="utf-8") as f:
                f.write(edited)
        rc, out = run_check(checker, root, graph_used)
        want = f"{case.file}:{lineno}: " + (f"{case.line.strip()}: " if case.echo else "") + case.expect
        problems = [l for l in out.splitlines() if not l.startswith("layering:")]
        hits = [l for l in problems if l.startswith(want)]
        if rc != 1 or not hits or (case.only and len(problems) != 1):
            failures.append(f"case {case.name}: expected exit 1 and {'exactly one problem' if case.only else 'a problem'}"
                            f" starting\n    {want}\n  got exit {rc}:\n{out}")
        else:
            print(f"ok   {case.name}: {hits[0]}")
    finally:
        with open(path, "w", encoding="utf-8") as f:
            f.write(original)
        if graph_used != graph:
            os.remove(graph_used)


def drop_link(graph_text, target, dep):
    """The graph without TARGET's link to DEP (both 'link' and 'public')."""
    out, current = [], None
    for line in graph_text.split("\n"):
        key, _, value = line.partition(" ")
        if key == "target":
            current = value.split(" ")[0]
        if current == target and key in ("link", "public") and value == dep:
            continue
        out.append(line)
    return "\n".join(out)


def add_link(graph_text, target, dep, public=True):
    """The graph with TARGET linking DEP (and passing it on when PUBLIC)."""
    out, current = [], None
    for line in graph_text.split("\n"):
        key, _, value = line.partition(" ")
        if current == target and key == "target":
            out += [f"link {dep}"] + ([f"public {dep}"] if public else [])
        if key == "target":
            current = value.split(" ")[0]
        out.append(line)
    if current == target:
        out += [f"link {dep}"] + ([f"public {dep}"] if public else [])
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["real", "fixture"])
    ap.add_argument("--checker", required=True)
    ap.add_argument("--graph", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--tmp")
    args = ap.parse_args()

    if args.mode == "real":
        rc, out = run_check(args.checker, args.root, args.graph)
        print(out, end="")
        if rc != 0:
            print("FAIL: the layering check finds forbidden links or includes in the tree (above)")
            return 1
        print("ok   the tree's links go the allowed way and its includes respect them")
        return 0

    root = os.path.join(args.tmp, "tree")
    copy_tree(args.root, root, args.graph)
    failures = []
    rc, out = run_check(args.checker, root, args.graph)
    if rc != 0:
        print(f"FAIL: the unmodified copy does not pass:\n{out}")
        return 1

    targets = read_graph(args.graph)
    trainer_cpp = first_source(targets, "fw_trainer")
    data_h = first_source(targets, "fw_data").replace(".cpp", ".h")
    assert os.path.isfile(os.path.join(root, data_h)), data_h
    core_cpp = first_source(targets, "fw_core")
    cases = [
        # The example: a trainer/ file reaching the flywheel.
        Case("trainer_includes_flywheel", trainer_cpp, '#include "flywheel/run.h"',
             "fw_trainer does not depend on fw_flywheel (its dependencies: "),
        # A header of a lower library reaching up (headers are checked on their own).
        Case("data_header_includes_model", data_h, '#include "model/llama.h"',
             "fw_data does not depend on fw_model (its dependencies: "),
        # A library reaching into an executable's files.
        Case("library_includes_app_header", core_cpp, '#include "apps/commands.h"',
             "apps/commands.h belongs to no library (a file of an executable); fw_core may not include it"),
        # A declared link taken away from the graph: the include it allowed now fails.
        # (the tree's own includes of data/ from synth fail too: this line must be among them).
        Case("undeclared_dependency", first_source(targets, "fw_synth"), '#include "data/tokenizer.h"',
             "fw_synth does not depend on fw_data (its dependencies: ",
             graph_edit=lambda g: drop_link(g, "fw_synth", "fw_data"), only=False),
    ]
    # A header without a .cpp in a folder of several libraries belongs to the one named
    # after the folder (trainer/ -> fw_trainer), so trainer_core may not include it.
    header_only = sorted(f"trainer/{n}" for n in os.listdir(os.path.join(root, "trainer"))
                         if n.endswith(".h") and not os.path.exists(os.path.join(root, "trainer", n[:-2] + ".cpp")))
    if header_only:
        cases.append(Case("trainer_core_includes_trainer_header", first_source(targets, "fw_trainer_core"),
                          f'#include "{header_only[0]}"',
                          "fw_trainer_core does not depend on fw_trainer (its dependencies: "))
    # Links that DESIGN.md §2 forbids (cmake/layering_allowed.txt): the check names the CMake
    # file and line that declares it, the two libraries and the rule.
    def cmake_of(target):
        return os.path.join(targets[target]["dir"], "CMakeLists.txt")

    def forbidden_link(lib, dep):
        return f"{lib} links {dep}, which cmake/layering_allowed.txt does not allow ("

    cases += [
        # The example, the other way: fixing a forbidden include by adding the link.
        Case("trainer_links_flywheel", cmake_of("fw_trainer"),
             "target_link_libraries(fw_trainer PUBLIC fw_flywheel)",
             forbidden_link("fw_trainer", "fw_flywheel"), echo=False,
             graph_edit=lambda g: add_link(g, "fw_trainer", "fw_flywheel")),
        # "trainer/ knows no task domain": data/synth is data/, but not the trainer's.
        Case("trainer_links_synth", cmake_of("fw_trainer"),
             "target_link_libraries(fw_trainer PUBLIC fw_synth)",
             forbidden_link("fw_trainer", "fw_synth"), echo=False,
             graph_edit=lambda g: add_link(g, "fw_trainer", "fw_synth")),
        # "The arena never depends on trainer", a PRIVATE link.
        Case("arena_links_trainer", cmake_of("fw_arena"),
             "target_link_libraries(fw_arena PRIVATE fw_trainer)",
             forbidden_link("fw_arena", "fw_trainer"), echo=False,
             graph_edit=lambda g: add_link(g, "fw_arena", "fw_trainer", public=False)),
        # "The model knows nothing of distribution", declared in fw_add_library's DEPS: the
        # line of the DEPS entry inside the call.
        Case("model_deps_dist", cmake_of("fw_model"), "  DEPS fw_dist",
             forbidden_link("fw_model", "fw_dist"), echo=False, after=r"fw_add_library\(\s*model\b[^)]*$",
             graph_edit=lambda g: add_link(g, "fw_model", "fw_dist", public=False)),
    ]
    if "test_core" in targets:  # FW_TEST_PARTS may leave it out
        # A test including what its executable does not link.
        test_core_cpp = next(s for s in targets["test_core"]["sources"] if s.startswith("tests/unit/"))
        cases.append(Case("test_includes_unlinked", test_core_cpp, '#include "model/llama.h"',
                          "test_core does not link fw_model (it sees: "))
    for case in cases:
        run_case(case, args.checker, root, args.graph, failures)
    shutil.rmtree(root)
    for f in failures:
        print("FAIL " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
