#!/usr/bin/env python3
"""Layering check (DESIGN.md §2): every link a library's CMake declares between libraries of
the tree goes the allowed way (cmake/layering_allowed.txt), and every #include of a project
file names a header of a library the including target may see, as CMake propagates include
paths.

  check_layering.py --root SRC --graph BUILD/layering/graph.txt [--allowed TABLE]
                    [--depfile F --stamp S] [--owners]

The graph (written by cmake/layering.cmake at configure time) lists each static library
and executable of the tree with its folder, its sources, what it links and what it passes
on. The table (default: layering_allowed.txt beside this script) gives each library of the
tree the libraries it may link and the rule that says so.

The direction: a library's direct link (PUBLIC or PRIVATE) to a library of the tree must be
in the library's row; else the check fails naming the CMake file (and line) that declares
the link, the two libraries and the row's rule:
  trainer/CMakeLists.txt:7: fw_trainer links fw_flywheel, which cmake/layering_allowed.txt
  does not allow (trainer <- losses, ...; fw_trainer may link: ...)
Executables may link anything. A library without a row, or a row naming no library of the
tree, is an error too.

Who owns a file:
  * a file named in a library's SOURCES belongs to that library;
  * a header whose .cpp of the same name (same folder) is in a library's SOURCES belongs
    to that library;
  * any other header belongs to the library of its folder: a library's folder is the
    common folder of its sources; a header in a folder without one belongs to the nearest
    enclosing folder that has one. Where a folder holds several libraries (data/: fw_data,
    fw_data_collate) it belongs to the one named after the folder (fw_data); a header
    meant for another library of that folder is listed in that library's SOURCES;
  * headers of no library (apps/, tests/, bench/) belong to the executables that include
    them.

What a target may include:
  * a library L's .cpp files: L's headers and those of every library L links (PUBLIC or
    PRIVATE) plus what those pass on PUBLIC, transitively;
  * L's headers: L's and what L passes on (its PUBLIC_DEPS, transitively) — a header
    reaches L's users, who see only that;
  * an executable's own sources (not a library's): the headers of what it links, as for
    a library's .cpp, plus the libraries whose sources it compiles itself (the ASan test);
    headers of no library that they include are checked the same way, for that executable.
  Includes that name no file of the tree (system and third-party headers) are not checked.

Exit status 0 when every link and include is allowed, 1 with one line per forbidden link
or include:
  trainer/foo.cpp:12: #include "flywheel/run.h": fw_trainer does not depend on fw_flywheel (...)
"""

import argparse
import os
import re
import sys

HEADER_EXTS = {".h", ".hpp", ".hh", ".hxx", ".inl", ".ipp"}
SOURCE_EXTS = {".cpp", ".cc", ".cxx", ".c"}
INCLUDE_RE = re.compile(r'^\s*#\s*include\s*(?:"([^"]+)"|<([^>]+)>)')


class Target:
    def __init__(self, name, kind):
        self.name = name
        self.kind = kind  # STATIC_LIBRARY or EXECUTABLE
        self.dir = None   # its CMake folder (SOURCE_DIR), relative to the root
        self.sources = []
        self.links = []   # every direct link (PUBLIC and PRIVATE)
        self.public = []  # what it passes on (PUBLIC / INTERFACE)

    @property
    def is_library(self):
        return self.kind == "STATIC_LIBRARY"


def read_graph(path):
    targets = {}
    current = None
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            key, _, value = line.partition(" ")
            if key == "target":
                name, _, kind = value.partition(" ")
                current = targets.setdefault(name, Target(name, kind))
            elif current is None:
                sys.exit(f"{path}:{lineno}: '{key}' before any 'target' line")
            elif key == "dir":
                current.dir = os.path.normpath(value)
            elif key == "source":
                current.sources.append(os.path.normpath(value))
            elif key == "link":
                current.links.append(value)
            elif key == "public":
                current.public.append(value)
            else:
                sys.exit(f"{path}:{lineno}: unknown key '{key}'")
    return targets


class Row:
    def __init__(self, name, allowed, rule, lineno):
        self.name, self.allowed, self.rule, self.lineno = name, allowed, rule, lineno


def read_allowed(path):
    """{library: Row} from layering_allowed.txt ('name: deps... | rule', continued on lines
    that start with white space); problems of the table itself exit."""
    rows, pending = {}, []  # pending: [(lineno, text)] of the row being read

    def finish():
        if not pending:
            return
        lineno = pending[0][0]
        text = " ".join(t.strip() for _, t in pending)
        pending.clear()
        name, colon, rest = text.partition(":")
        deps, bar, rule = rest.partition("|")
        name = name.strip()
        if not colon or not bar or not name or " " in name:
            sys.exit(f"{path}:{lineno}: expected '<library>: <libraries it may link> | <rule>'")
        if name in rows:
            sys.exit(f"{path}:{lineno}: a second row for {name} (the first is line {rows[name].lineno})")
        rows[name] = Row(name, set(deps.split()), " ".join(rule.split()), lineno)

    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if line[0].isspace():
                if not pending:
                    sys.exit(f"{path}:{lineno}: a continuation line outside a row")
                pending.append((lineno, line))
            else:
                finish()
                pending.append((lineno, line))
    finish()
    return rows


CMAKE_CALL_RE = re.compile(r"\b(fw_add_library|add_library|target_link_libraries)\s*\(", re.IGNORECASE)


def cmake_calls(text):
    """[(command, [(line, argument)])] of the fw_add_library / add_library /
    target_link_libraries calls in a CMake file (comments dropped; enough for our files)."""
    lines = [re.sub(r"#.*", "", l) for l in text.split("\n")]
    flat = "\n".join(lines)
    out = []
    for m in CMAKE_CALL_RE.finditer(flat):
        depth, i, args = 1, m.end(), []
        while i < len(flat) and depth:
            c = flat[i]
            depth += c == "("
            depth -= c == ")"
            i += 1
        body_start = m.end()
        for t in re.finditer(r"[^\s()]+", flat[body_start:i - 1]):
            args.append((flat.count("\n", 0, body_start + t.start()) + 1, t.group(0)))
        out.append((m.group(1).lower(), args))
    return out


class Checker:
    def __init__(self, root, targets):
        self.root = os.path.abspath(root)
        self.targets = targets
        self.libs = {n: t for n, t in targets.items() if t.is_library}
        self.read_files = set()
        self._includes = {}
        self.problems = []  # (path, line, message)
        self.link_problems = []  # (file:line of the CMake call, message)
        self.errors = []    # problems of the rules themselves (ambiguous owners)

        # Ownership: SOURCES first.
        self.owner = {}
        for lib in self.libs.values():
            for src in lib.sources:
                if src in self.owner and self.owner[src] != lib.name:
                    self.errors.append(f"{src}: in the SOURCES of both {self.owner[src]} and {lib.name}")
                self.owner.setdefault(src, lib.name)
        # Each library's folder: the common folder of its sources.
        self.homes = {}  # folder -> [library names]
        for lib in self.libs.values():
            dirs = [os.path.dirname(s) for s in lib.sources if os.path.splitext(s)[1] in SOURCE_EXTS]
            if not dirs:
                continue
            home = os.path.commonpath(dirs) if len(dirs) > 1 else dirs[0]
            self.homes.setdefault(home, []).append(lib.name)

        self._public_closure = {}

    # -- the graph -----------------------------------------------------------------------
    def public_closure(self, name):
        """The libraries NAME passes on to whoever links it (not NAME itself)."""
        if name not in self._public_closure:
            # A walk of its own per library: a memo filled during the walk would keep the
            # partial closure of a library on a cycle (a forbidden link can make one).
            out, todo = set(), [name]
            while todo:
                for dep in self.targets[todo.pop()].public:
                    if dep in self.libs and dep not in out:
                        out.add(dep)
                        todo.append(dep)
            out.discard(name)
            self._public_closure[name] = out
        return self._public_closure[name]

    def cmake_files(self, target):
        """The CMake files of TARGET's folder: CMakeLists.txt first, then *.cmake."""
        folder = self.targets[target].dir
        if folder is None:
            return []
        out = []
        top = os.path.join(self.root, folder)
        names = sorted(n for n in os.listdir(top) if n.endswith(".cmake")) if os.path.isdir(top) else []
        for n in ["CMakeLists.txt"] + names:
            if os.path.isfile(os.path.join(top, n)):
                out.append(os.path.normpath(os.path.join(folder, n)))
        return out

    def link_declared_at(self, target, dep):
        """'file:line' of the call in TARGET's folder that links DEP to TARGET; else 'file:line'
        of where TARGET is declared; else its folder's CMakeLists.txt."""
        short = target[3:] if target.startswith("fw_") else target
        declared = None
        for rel in self.cmake_files(target):
            path = os.path.join(self.root, rel)
            self.read_files.add(path)
            with open(path, encoding="utf-8", errors="replace") as f:
                calls = cmake_calls(f.read())
            for command, args in calls:
                if not args:
                    continue
                first = args[0][1]
                if not ((command == "fw_add_library" and first == short) or
                        (command in ("add_library", "target_link_libraries") and first == target)):
                    continue
                if command != "target_link_libraries" and declared is None:
                    declared = f"{rel}:{args[0][0]}"
                for lineno, arg in args[1:]:
                    if arg == dep:
                        return f"{rel}:{lineno}"
        if declared:
            return declared
        folder = self.targets[target].dir or "."
        return os.path.normpath(os.path.join(folder, "CMakeLists.txt"))

    def check_links(self, rows, table):
        """Every direct link between libraries of the tree must be in the linking library's row."""
        for name in sorted(rows):
            for dep in sorted(rows[name].allowed):
                if dep not in self.libs:
                    self.errors.append(f"{table}:{rows[name].lineno}: {name}'s row names {dep}, "
                                       "which is no library of the tree")
        for lib in sorted(self.libs):
            deps = [d for d in dict.fromkeys(self.targets[lib].links) if d in self.libs and d != lib]
            row = rows.get(lib)
            if row is None:
                self.errors.append(f"{lib} has no row in {table}: add one, with the libraries DESIGN.md §2 "
                                   f"lets it link (it links: {self._names(deps)})")
                continue
            for dep in deps:
                if dep in row.allowed:
                    continue
                where = self.link_declared_at(lib, dep)
                self.link_problems.append(
                    (where, f"{lib} links {dep}, which {table} does not allow ({row.rule}; "
                            f"{lib} may link: {self._names(row.allowed)})"))

    def visible(self, target):
        """The libraries whose headers TARGET's own .cpp files may include."""
        out = set()
        for dep in self.targets[target].links:
            if dep in self.libs:
                out.add(dep)
                out |= self.public_closure(dep)
        return out

    # -- files ---------------------------------------------------------------------------
    def header_owner(self, rel):
        if rel in self.owner:
            return self.owner[rel]
        stem = os.path.splitext(rel)[0]
        for ext in SOURCE_EXTS:
            if stem + ext in self.owner:
                return self.owner[stem + ext]
        folder = os.path.dirname(rel)
        while True:
            libs = self.homes.get(folder)
            if libs:
                if len(libs) == 1:
                    return libs[0]
                named = "fw_" + os.path.basename(folder)
                if named in libs:
                    return named
                self.errors.append(f"{rel}: folder {folder}/ holds {', '.join(sorted(libs))} and none is named "
                                   f"{named}: list the header in the SOURCES of its library")
                return sorted(libs)[0]
            if not folder:
                return None
            folder = os.path.dirname(folder)

    def includes(self, rel):
        """[(line, spelled, resolved rel path)] for the includes of REL naming files of the tree."""
        if rel not in self._includes:
            out = []
            path = os.path.join(self.root, rel)
            self.read_files.add(path)
            with open(path, encoding="utf-8", errors="replace") as f:
                for lineno, line in enumerate(f, 1):
                    m = INCLUDE_RE.match(line)
                    if not m:
                        continue
                    quoted, angled = m.group(1), m.group(2)
                    name = quoted or angled
                    candidates = [os.path.join(os.path.dirname(rel), name)] if quoted else []
                    candidates.append(name)
                    for cand in candidates:
                        cand = os.path.normpath(cand)
                        if cand.startswith(".."):
                            continue
                        if os.path.isfile(os.path.join(self.root, cand)):
                            spelled = f'"{name}"' if quoted else f"<{name}>"
                            out.append((lineno, spelled, cand))
                            break
            self._includes[rel] = out
        return self._includes[rel]

    def headers_of_libraries(self):
        """Every header under the libraries' folders (sub-folders included)."""
        found = set()
        for home in self.homes:
            top = os.path.join(self.root, home)
            for dirpath, dirnames, filenames in os.walk(top):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith(".")
                                     and not os.path.exists(os.path.join(dirpath, d, "CMakeCache.txt")))
                for fn in filenames:
                    if os.path.splitext(fn)[1] in HEADER_EXTS:
                        found.add(os.path.relpath(os.path.join(dirpath, fn), self.root))
        return sorted(found)

    # -- the check -----------------------------------------------------------------------
    @staticmethod
    def _names(libs):
        return ", ".join(sorted(libs)) or "none"

    def check_library_file(self, rel, lib, header):
        allowed = {lib} | (self.public_closure(lib) if header else self.visible(lib))
        for lineno, spelled, inc in self.includes(rel):
            owner = self.header_owner(inc)
            if owner is None:
                self.problems.append((rel, lineno, f"#include {spelled}: {inc} belongs to no library "
                                      f"(a file of an executable); {lib} may not include it"))
            elif owner not in allowed:
                if header and owner in self.visible(lib):
                    why = (f"{lib} links {owner} but does not pass it on (not in its PUBLIC_DEPS), and "
                           f"{lib}'s headers reach its users (it passes on: {self._names(self.public_closure(lib))})")
                else:
                    why = (f"{lib} does not depend on {owner} "
                           f"(its dependencies: {self._names(self.visible(lib))})")
                self.problems.append((rel, lineno, f"#include {spelled}: {why}"))

    def check_executable(self, exe):
        t = self.targets[exe]
        allowed = self.visible(exe)
        for src in t.sources:  # libraries whose sources it compiles itself
            if src in self.owner:
                allowed |= {self.owner[src]} | self.public_closure(self.owner[src])
        seen = set()
        stack = [(src, None) for src in t.sources if src not in self.owner]
        while stack:
            rel, via = stack.pop()
            if rel in seen:
                continue
            seen.add(rel)
            for lineno, spelled, inc in self.includes(rel):
                owner = self.header_owner(inc)
                if owner is None:
                    stack.append((inc, via or rel))
                elif owner not in allowed:
                    where = f", included from {via}" if via else ""
                    self.problems.append((rel, lineno, f"#include {spelled}: {exe} does not link {owner} "
                                          f"(it sees: {self._names(allowed)}){where}"))

    def run(self):
        for lib in sorted(self.libs):
            for src in self.libs[lib].sources:
                if os.path.isfile(os.path.join(self.root, src)):
                    self.check_library_file(src, lib, os.path.splitext(src)[1] in HEADER_EXTS)
        for rel in self.headers_of_libraries():
            if rel in self.owner:
                continue  # already checked as a source
            self.check_library_file(rel, self.header_owner(rel), True)
        for name in sorted(self.targets):
            if not self.targets[name].is_library:
                self.check_executable(name)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", required=True, help="the source tree")
    ap.add_argument("--graph", required=True, help="graph.txt written by cmake/layering.cmake")
    ap.add_argument("--allowed", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                      "layering_allowed.txt"),
                    help="the table of allowed links (default: layering_allowed.txt beside this script)")
    ap.add_argument("--depfile", help="write a Makefile-style depfile of every file read")
    ap.add_argument("--stamp", help="touch this file when the check passes (the depfile's target)")
    ap.add_argument("--owners", action="store_true", help="print which library owns each header, then check")
    args = ap.parse_args()

    checker = Checker(args.root, read_graph(args.graph))
    if args.owners:
        for rel in checker.headers_of_libraries():
            print(f"{rel} {checker.header_owner(rel)}")
    table = os.path.abspath(args.allowed)
    checker.read_files.add(table)
    # The table as the tree names it: relative to the root, else (a copy of the tree checked
    # with the script's own table) to the script's tree, else as given.
    shown = args.allowed
    for base in (checker.root, os.path.dirname(os.path.dirname(os.path.abspath(__file__)))):
        rel = os.path.relpath(table, base)
        if not rel.startswith(".."):
            shown = rel
            break
    checker.check_links(read_allowed(table), shown)
    checker.run()

    if args.depfile:
        def esc(p):
            return p.replace("\\", "\\\\").replace(" ", "\\ ").replace("#", "\\#").replace("$", "$$")
        deps = sorted(checker.read_files) + [os.path.abspath(args.graph), os.path.abspath(__file__)]
        os.makedirs(os.path.dirname(os.path.abspath(args.depfile)), exist_ok=True)
        with open(args.depfile, "w", encoding="utf-8") as f:
            f.write(esc(os.path.abspath(args.stamp or args.depfile)) + ":")
            for p in deps:
                f.write(" \\\n  " + esc(p))
            f.write("\n")

    problems = sorted(set(checker.problems), key=lambda p: (p[0], p[1], p[2]))
    links = sorted(set(checker.link_problems))
    for err in sorted(set(checker.errors)):
        print(f"layering: {err}", file=sys.stderr)
    for where, msg in links:
        print(f"{where}: {msg}", file=sys.stderr)
    for rel, lineno, msg in problems:
        print(f"{rel}:{lineno}: {msg}", file=sys.stderr)
    if links:
        print(f"layering: {len(links)} forbidden link(s) (DESIGN.md §2; {shown}): remove the link and "
              "what needs it; the table changes only where §2 does", file=sys.stderr)
    if problems:
        print(f"layering: {len(problems)} forbidden #include(s) (DESIGN.md §2; docs/architecture.md, "
              "'Libraries and their dependencies'): declare the dependency in the library's CMake "
              f"(PUBLIC_DEPS) where §2's direction allows it ({shown}), else remove the include",
              file=sys.stderr)
    if links or problems or checker.errors:
        return 1
    if args.stamp:
        with open(args.stamp, "w", encoding="utf-8") as f:
            f.write("ok\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
