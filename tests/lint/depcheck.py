#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The link graph of vfiohook's objects must point one way.

Reads the symbols of every object file (nm), links each use of a global
symbol to the file that defines it, and fails when
  - a file uses a symbol of a file in a higher layer
    (base < pve, pci, sys < state < engine < hook), or of another domain
    (pve, pci and sys are side by side and do not use each other);
  - the file graph has a cycle: no file may use a symbol of a file that
    uses one of its own, also within one directory.

  depcheck.py BUILD_DIR
"""
import os
import subprocess
import sys

LAYER = {"base": 0, "pve": 1, "pci": 1, "sys": 1, "state": 2, "engine": 3, "hook": 4}


def part(rel):
    """'src/pve/mapping.o' -> 'pve'; 'hook/main.o' -> 'hook'."""
    bits = rel.split(os.sep)
    return bits[1] if bits[0] == "src" and len(bits) > 2 else bits[0]


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    objs = []
    for top in ("src", "hook"):
        for dirpath, _, names in os.walk(os.path.join(build, top)):
            objs += [os.path.join(dirpath, n) for n in names if n.endswith(".o")]
    defs, uses = {}, {}
    for o in sorted(objs):
        rel = os.path.relpath(o, build)[:-2] + ".c"
        if part(rel) not in LAYER:
            print(f"depcheck: {rel}: not in a known part ({', '.join(LAYER)})")
            return 1
        out = subprocess.run(["nm", "-P", o], capture_output=True, text=True, check=True)
        uses[rel] = set()
        for line in out.stdout.splitlines():
            f = line.split()
            if len(f) < 2:
                continue
            sym, kind = f[0], f[1]
            if kind == "U":
                uses[rel].add(sym)
            elif kind in "TDBRCGSV":
                defs[sym] = rel
    edges = {f: {} for f in uses}
    bad = []
    for f, syms in uses.items():
        for s in sorted(syms):
            g = defs.get(s)
            if g is None or g == f:
                continue
            edges[f].setdefault(g, s)
            pf, pg = part(f), part(g)
            if LAYER[pg] > LAYER[pf] or (LAYER[pg] == LAYER[pf] and pg != pf):
                bad.append(f"{f} uses {s} of {g}: {pf} may not use {pg}")
    # cycles: depth-first search over the file graph
    state, stack, cycles = {}, [], []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in sorted(edges[n]):
            if state.get(m) == 1:
                cyc = stack[stack.index(m):] + [m]
                cycles.append(" -> ".join(
                    f"{a} ({edges[a][b]})" for a, b in zip(cyc, cyc[1:])) + f" -> {m}")
            elif m not in state:
                visit(m)
        stack.pop()
        state[n] = 2

    for n in sorted(edges):
        if n not in state:
            visit(n)
    for b in bad:
        print("depcheck: wrong-way use:", b)
    for c in cycles:
        print("depcheck: cycle:", c)
    n_edges = sum(len(e) for e in edges.values())
    if bad or cycles:
        print(f"depcheck: {len(bad)} wrong-way uses, {len(cycles)} cycles "
              f"among {len(edges)} files")
        return 1
    print(f"depcheck: {len(edges)} files, {n_edges} uses, one way, no cycles")
    return 0


if __name__ == "__main__":
    sys.exit(main())
