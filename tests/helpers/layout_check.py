#!/usr/bin/env python3
"""tests/helpers/layout_check.py - the house rules for where code lives.

Checks a source tree (default: the repository) and prints one line per
broken rule, exit 1 if any:
  - no circle of modules inside a folder: a module is NAME.c with NAME.h,
    and module A depends on B when one of A's files includes B's header
    ("no file imports its caller back");
  - cmd/ and tui/ include only the library's public headers (revenge/...),
    never lib/'s internal ones;
  - public headers (lib/include/revenge) include only public or system ones;
  - every .c and .h file opens with a comment saying what it owns;
  - with --objects DIR: no circle of calls between the library's object
    files (DIR/*.o, read with nm): file A depends on B when A uses a symbol
    B defines, which catches a circle that a shared header would hide.

    layout_check.py [--objects DIR] [ROOT]
"""
import os
import re
import subprocess
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def sources(folder):
    for name in sorted(os.listdir(folder)):
        if name.endswith(('.c', '.h')):
            yield os.path.join(folder, name)


def module(path):
    return os.path.splitext(os.path.basename(path))[0]


def cycles(graph):
    """Each circle once, as a list of modules (Tarjan's strongly connected
    components of two or more, plus self-loops, which are excluded)."""
    index, low, on, stack, out, n = {}, {}, set(), [], [], [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def check(root):
    problems = []
    lib = os.path.join(root, 'lib')
    internal = {os.path.basename(p) for p in sources(lib) if p.endswith('.h')}
    folders = [lib]
    for top in ('cmd', 'tui'):
        base = os.path.join(root, top)
        if os.path.isdir(base):
            folders += [os.path.join(base, d) for d in sorted(os.listdir(base))
                        if os.path.isdir(os.path.join(base, d))]
    for folder in folders:
        headers = {os.path.basename(p) for p in sources(folder) if p.endswith('.h')}
        graph = {}
        for path in sources(folder):
            text = open(path, encoding='utf-8', errors='replace').read()
            rel = os.path.relpath(path, root)
            if not text.lstrip().startswith('/*'):
                problems.append(f'{rel}: does not open with a comment saying what it owns')
            me = module(path)
            graph.setdefault(me, set())
            for inc in INCLUDE.findall(text):
                if folder != lib and inc in internal and inc not in headers:
                    problems.append(f'{rel}: includes lib/{inc}, an internal header; '
                                    'use the public revenge/ headers')
                if inc in headers and module(inc) != me:
                    graph[me].add(module(inc))
        for circle in cycles(graph):
            problems.append(f'{os.path.relpath(folder, root)}: modules include each other '
                            f'in a circle: {" -> ".join(circle)}')
    public = os.path.join(lib, 'include', 'revenge')
    for path in sources(public):
        for inc in INCLUDE.findall(open(path, encoding='utf-8').read()):
            if not os.path.exists(os.path.join(public, inc)):
                problems.append(f'{os.path.relpath(path, root)}: a public header includes '
                                f'"{inc}", which is not public')
    return problems


def symbol_graph(objdir):
    defined, used = {}, {}
    for name in sorted(os.listdir(objdir)):
        if not name.endswith('.o'):
            continue
        me = module(name)
        used[me] = set()
        out = subprocess.run(['nm', '-P', os.path.join(objdir, name)], check=True,
                             capture_output=True, text=True).stdout
        for line in out.splitlines():
            parts = line.split()
            if len(parts) < 2:
                continue
            sym, kind = parts[0], parts[1]
            if kind == 'U':
                used[me].add(sym)
            elif kind in 'TDBRVWC':
                defined[sym] = me
    return {me: {defined[s] for s in syms if s in defined and defined[s] != me}
            for me, syms in used.items()}


def check_objects(objdir):
    return [f'{objdir}: object files call each other in a circle: {" -> ".join(c)}'
            for c in cycles(symbol_graph(objdir))]


def main():
    args = sys.argv[1:]
    objdir = None
    if len(args) >= 2 and args[0] == '--objects':
        objdir = args[1]
        args = args[2:]
    root = args[0] if args else os.path.join(os.path.dirname(__file__), '..', '..')
    problems = check(root)
    if objdir:
        problems += check_objects(objdir)
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
