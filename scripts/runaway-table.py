#!/usr/bin/env python3
"""Issue 11's runaway table and a linear-growth series, through the real
binary: `scripts/runaway-table.py [path/to/slipway]` (default
target/release/slipway). For each input it runs `slipway check` and
`slipway compile` under /usr/bin/time and prints bytes, outcome (ok or the
diagnostic code), wall seconds and peak RSS. Figures: docs/benchmarks.md."""
import os, re, subprocess, sys, tempfile

BIN = sys.argv[1] if len(sys.argv) > 1 else "target/release/slipway"


def doubling(levels):
    s = "version: 1\nargs:\n  E0: ab\n"
    for i in range(1, levels + 1):
        s += f"  E{i}: ${{E{i-1}}}${{E{i-1}}}\n"
    return s + f"stages:\n  app:\n    from: alpine\n    env: {{X: \"${{E{levels}}}\"}}\n"


def from_chain(n):
    s = "stages:\n  s0: {from: alpine}\n"
    for i in range(1, n):
        s += f"  s{i}:\n    from: s{i-1}\n    steps:\n      - run: echo {i}\n"
    return s


def many_alpine(n):
    return "stages:\n" + "".join(f"  s{i}: {{from: alpine}}\n" for i in range(n))


def group(n, unknown=False):
    s = "stages:\n" + "".join(f"  s{i}: {{from: scratch}}\n" for i in range(n))
    pre = "u" if unknown else "s"
    return s + "groups:\n  all:\n" + "".join(f"    - {pre}{i}\n" for i in range(n)) + "default: all\n"


def merge(n):
    s = "x-env: &e\n" + "".join(f"  K{i}: v{i}\n" for i in range(n))
    return s + "stages:\n  app:\n    from: alpine\n    env:\n      <<: *e\n    steps:\n      - run: env\n"


def env(n):
    s = "stages:\n  app:\n    from: alpine\n    env:\n" + "".join(f"      K{i}: v{i}\n" for i in range(n))
    return s + "    steps:\n      - run: env\n"


def refs(values, per, argbytes):
    ref = "${BIG}" * per
    s = f"args:\n  BIG: {'x' * argbytes}\nstages:\n  app:\n    from: alpine\n    env:\n"
    s += "".join(f"      K{i}: \"{ref}\"\n" for i in range(values))
    return s + "    steps:\n      - run: env\n"


def stages(n):
    return "".join(["version: 1\nstages:\n"] + [f"  s{i}:\n    from: alpine\n    steps:\n      - run: make {i}\n" for i in range(n)])


def keys(n):  # one mapping with n x- keys (parse, no output)
    return "x-keys:\n" + "".join(f"  k{i}: v{i}\n" for i in range(n)) + "stages:\n  app: {from: alpine}\n"


def references(n):
    return "args:\n  A: a\nstages:\n  app:\n    from: alpine\n    steps:\n" + "".join(f"      - run: echo ${{A}} {i}\n" for i in range(n))


ROWS = [
    ("args doubling, 28 levels", doubling(28)),
    ("args doubling, 24 levels", doubling(24)),
    ("from: chain, 4k stages", from_chain(4_000)),
    ("from: chain, 20k stages", from_chain(20_000)),
    ("from: chain, 100k stages", from_chain(100_000)),
    ("5,000 stages from: alpine", many_alpine(5_000)),
    ("20,000 stages from: alpine", many_alpine(20_000)),
    ("group of 5k members", group(5_000)),
    ("group of 10k members", group(10_000)),
    ("group of 100k members", group(100_000)),
    ("group of 5k unknown members", group(5_000, True)),
    ("<<: merge of 100k keys", merge(100_000)),
    ("<<: merge of 1,000 keys", merge(1_000)),
    ("env of 100k keys", env(100_000)),
    ("env of 1,000 keys", env(1_000)),
    ("300 env x 300 refs to a 2 KB arg", refs(300, 300, 2048)),
    ("30 env x 300 refs to a 1 KB arg", refs(30, 300, 1024)),
] + [(f"{n:,} stages (linear series)", stages(n)) for n in (1_000, 10_000, 20_000)] \
  + [(f"{n:,} keys (linear series)", keys(n)) for n in (1_000, 10_000, 100_000)] \
  + [(f"{n:,} references (linear series)", references(n)) for n in (1_000, 10_000, 100_000)]


def run(cmd, path):
    with tempfile.TemporaryFile() as out:
        p = subprocess.run(["/usr/bin/time", "-f", "%e %U %S %M", BIN, cmd, path], stdout=out,
                           stderr=subprocess.PIPE, text=True, timeout=900)
        out.seek(0)
        text = out.read(1 << 20).decode("utf-8", "replace") + p.stderr
    wall, user, sys_, kb = p.stderr.strip().splitlines()[-1].split()
    m = re.search(r"error\[([a-z-]+)\]", text)
    res = "ok" if p.returncode == 0 else (m.group(1) if m else f"exit {p.returncode}")
    return res, float(user) + float(sys_), float(wall), int(kb) / 1024


print(f"load average before: {os.getloadavg()[0]:.1f}")
print(f"| input | bytes | check | compile |")
print(f"|---|---:|---|---|")
for name, text in ROWS:
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write(text)
    cells = []
    for cmd in ("check", "compile"):
        res, cpu, wall, mb = run(cmd, f.name)
        cells.append(f"{res}, {cpu:.2f} s CPU ({wall:.2f} s wall), {mb:.0f} MB")
    os.unlink(f.name)
    print(f"| {name} | {len(text):,} | {cells[0]} | {cells[1]} |", flush=True)
