#!/usr/bin/env python3
"""Developer check for the examples: build, test, run and compare, driven by example.toml.

    examples/check.py [--builder dockerfile|slipway|both] [--skip-fail] EXAMPLE...

Builds each runtime target with the chosen builder(s) (tag slipway-ex/<example>-<target>:<builder>),
runs it and checks its answer, checks present/absent paths, builds the test target (must pass) and
with the fail args (must fail); with --builder both, also compares the two images' config, file
list and size. The end-to-end suite in tests/ does the same and more (rebuild counts, overlap,
timings); this script is the quick way to try one example by hand. Needs python3 >= 3.11.
SLIPWAY_SYNTAX=<image> builds the Slipway files with that frontend image (BUILDKIT_SYNTAX).
"""
import argparse, json, os, subprocess, sys, tarfile, time, tomllib, urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
DOCKER = "/usr/bin/docker"
ENV = dict(os.environ, DOCKER_BUILDKIT="1")
ENV.setdefault("DOCKER_HOST", "unix:///run/slipway-docker.sock")
CONFIG_KEYS = ["Entrypoint", "Cmd", "Env", "User", "WorkingDir", "ExposedPorts", "Labels", "Healthcheck", "StopSignal", "Volumes"]
failures = []


def fail(msg):
    print(f"  FAIL {msg}")
    failures.append(msg)


def ok(msg):
    print(f"  ok   {msg}")


def build(ex, d, builder, target, tag=None, extra_args=None):
    file = d["slipway"] if builder == "slipway" else d["dockerfile"]
    cmd = [DOCKER, "build", "--progress=plain", "-f", file, "--target", target]
    for k, v in {**d.get("build_args", {}), **(extra_args or {})}.items():
        cmd += ["--build-arg", f"{k}={v}"]
    if builder == "slipway" and os.environ.get("SLIPWAY_SYNTAX"):
        # another frontend image than the files' `# syntax=slipway:dev` line (e.g. a known-good one)
        cmd += ["--build-arg", f"BUILDKIT_SYNTAX={os.environ['SLIPWAY_SYNTAX']}"]
    if tag:
        cmd += ["-t", tag]
    cmd.append(".")
    t0 = time.time()
    p = subprocess.run(cmd, cwd=os.path.join(HERE, ex), env=ENV, capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr, time.time() - t0


def inspect(tag):
    out = subprocess.run([DOCKER, "image", "inspect", tag], env=ENV, capture_output=True, text=True, check=True).stdout
    return json.loads(out)[0]


def files(tag):
    cid = subprocess.run([DOCKER, "create", tag, "x"], env=ENV, capture_output=True, text=True, check=True).stdout.strip()
    try:
        p = subprocess.Popen([DOCKER, "export", cid], env=ENV, stdout=subprocess.PIPE)
        with tarfile.open(fileobj=p.stdout, mode="r|") as t:
            names = sorted("/" + m.name.lstrip("./").rstrip("/") for m in t)
        p.wait()
        return names
    finally:
        subprocess.run([DOCKER, "rm", cid], env=ENV, capture_output=True)


def run_image(tag, spec):
    kind = spec["kind"]
    timeout = spec.get("timeout_s", 30)
    if kind == "command":
        p = subprocess.run([DOCKER, "run", "--rm", tag, *spec.get("args", [])], env=ENV, capture_output=True, text=True, timeout=timeout)
        if p.returncode == 0 and p.stdout == spec["expect_stdout"]:
            ok(f"run {tag}: {p.stdout!r}")
        else:
            fail(f"run {tag}: exit {p.returncode}, stdout {p.stdout!r}, stderr {p.stderr[-500:]!r}")
        return
    p = subprocess.run([DOCKER, "run", "-d", "-p", f"127.0.0.1::{spec['port']}", tag], env=ENV, capture_output=True, text=True)
    cid = p.stdout.strip()
    if p.returncode != 0:
        fail(f"docker run {tag}: exit {p.returncode}: {p.stderr.strip()}")
        if cid:
            subprocess.run([DOCKER, "rm", "-f", cid], env=ENV, capture_output=True)
        return
    try:
        port = subprocess.run([DOCKER, "port", cid, str(spec["port"])], env=ENV, capture_output=True, text=True).stdout.split(":")[-1].strip()
        url = f"http://127.0.0.1:{port}{spec.get('path', '/')}"
        deadline, last = time.time() + timeout, None
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=3) as r:
                    status, body = r.status, r.read().decode()
                good = status == spec.get("expect_status", 200) and (
                    ("expect_body" not in spec or body == spec["expect_body"]) and spec.get("expect_contains", "") in body)
                if good:
                    ok(f"GET {spec.get('path', '/')} on {tag}: {status} {body[:60]!r}")
                    break
                last = f"{status} {body[:200]!r}"
            except Exception as e:  # not up yet
                last = repr(e)
            time.sleep(0.5)
        else:
            logs = subprocess.run([DOCKER, "logs", cid], env=ENV, capture_output=True, text=True)
            fail(f"GET {url} on {tag}: {last}; logs: {(logs.stdout + logs.stderr)[-500:]!r}")
            return
        if "expect_health" in spec:
            while time.time() < deadline + 30:
                h = subprocess.run([DOCKER, "inspect", "-f", "{{.State.Health.Status}}", cid], env=ENV, capture_output=True, text=True).stdout.strip()
                if h == spec["expect_health"]:
                    ok(f"health of {tag}: {h}")
                    break
                time.sleep(1)
            else:
                fail(f"health of {tag}: {h}")
    finally:
        subprocess.run([DOCKER, "rm", "-f", cid], env=ENV, capture_output=True)


def check(ex, builders, skip_fail):
    d = tomllib.load(open(os.path.join(HERE, ex, "example.toml"), "rb"))
    print(f"== {ex}")
    for rt in d["runtime"]:
        tags = {}
        for b in builders:
            tag = f"slipway-ex/{ex}-{rt['target']}:{b}"
            rc, log, secs = build(ex, d, b, rt["target"], tag)
            if rc != 0:
                fail(f"{b} build --target {rt['target']}: exit {rc}\n{log[-3000:]}")
                continue
            tags[b] = tag
            size = inspect(tag)["Size"]
            ok(f"{b} build --target {rt['target']}: {secs:.1f}s, {size / 1e6:.1f} MB")
            names = set(files(tag))
            for p in rt.get("present_paths", []):
                (ok if p in names else fail)(f"{tag} has {p}")
            for p in rt.get("absent_paths", []):
                (ok if p not in names else fail)(f"{tag} lacks {p}")
            cfg = inspect(tag)["Config"]
            if rt.get("nonroot"):
                (ok if cfg.get("User") not in ("", "root", "0", "0:0", None) else fail)(f"{tag} user {cfg.get('User')!r}")
            run_image(tag, rt["run"])
        if len(tags) == 2:
            a, b = (inspect(tags[k]) for k in builders)
            for key in CONFIG_KEYS:
                va, vb = a["Config"].get(key), b["Config"].get(key)
                if key == "Env":
                    va, vb = sorted(va or []), sorted(vb or [])
                (ok if va == vb else fail)(f"config {key}: {va!r} vs {vb!r}" if va != vb else f"same {key}")
            fa, fb = set(files(tags[builders[0]])), set(files(tags[builders[1]]))
            (ok if fa == fb else fail)(f"same file list ({len(fa)})" if fa == fb else f"file lists differ: only {builders[0]}: {sorted(fa - fb)[:20]}, only {builders[1]}: {sorted(fb - fa)[:20]}")
            sa, sb = a["Size"], b["Size"]
            (ok if abs(sa - sb) <= 0.02 * max(sa, sb) else fail)(f"sizes {sa} vs {sb}")
    t = d["test"]
    for b in builders:
        rc, log, secs = build(ex, d, b, t["target"])
        seen = "log seen" if t["expect_log"] in log else "cached, log not shown"
        (ok if rc == 0 else fail)(f"{b} test target {t['target']}: exit {rc}, {secs:.1f}s, {seen}" + ("" if rc == 0 else "\n" + log[-3000:]))
        if not skip_fail:
            rc, log, _ = build(ex, d, b, t["target"], extra_args=t["fail_args"])
            (ok if rc != 0 and t["expect_fail_log"] in log else fail)(f"{b} test target with {t['fail_args']}: exit {rc} (must fail)" + ("" if rc != 0 else "\n" + log[-2000:]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--builder", default="dockerfile", choices=["dockerfile", "slipway", "both"])
    ap.add_argument("--skip-fail", action="store_true", help="do not build the test target with its fail args")
    ap.add_argument("examples", nargs="*")
    a = ap.parse_args()
    builders = ["slipway", "dockerfile"] if a.builder == "both" else [a.builder]
    exs = a.examples or sorted(e for e in os.listdir(HERE) if os.path.isfile(os.path.join(HERE, e, "example.toml")))
    for ex in exs:
        check(ex, builders, a.skip_fail)
    print(f"{len(failures)} failure(s)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
