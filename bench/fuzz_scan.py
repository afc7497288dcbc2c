"""The native scanner under AddressSanitizer + UndefinedBehaviorSanitizer, fuzzed two ways.

    .venv/bin/python bench/fuzz_scan.py --seconds 600   # a long run
    .venv/bin/python bench/fuzz_scan.py --seconds 25    # what `make test` runs (through
                                                        # tests/usage/test_scan_sanitized.py)

1. Builds backend/podium/usage/_scan.c with `-fsanitize=address,undefined` (and
   `-fsanitize-coverage=trace-cmp` for the fuzzer's comparison feedback) into a temp dir; the
   installed extension is never touched. The sanitizer runtime is preloaded into a child
   Python that imports this build as `podium.usage._scan`.
2. Differential: tests/usage/test_native_scan.py (C vs Python line by line, whole files through
   both readers, the Prefetcher's threads) runs against that build.
3. Coverage-guided: atheris (libFuzzer) mutates whole files and checks, for each, that both
   readers of `Ingestor` agree (tests/usage/scan_parity.py `reader_parity`) and that the
   Prefetcher returns what scan_claude returns. Guided by coverage of the Python readers and by
   the C code's comparisons (`-use_value_profile=1`); with gcc there is no edge coverage of the
   C code itself (libFuzzer only takes clang's), which is used instead when clang is installed.

Any sanitizer report, crash or disagreement is a finding: the exit code is 1 and the input is
kept under --workdir. Exit 77 (with the reason on stderr) when no C compiler or sanitizer
runtime is available; without atheris step 3 is skipped with a message.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "backend" / "podium" / "usage" / "_scan.c"
SKIPPED = 77
# leaks are checked for the scanner's own allocations only (see _leaks_in_scanner): Python
# itself keeps memory alive at exit by design
LEAK_EXIT = 86
ASAN_OPTIONS = (f"detect_leaks=1:abort_on_error=0:halt_on_error=1:exitcode={LEAK_EXIT}:"
                "detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1")  # fmt: skip
UBSAN_OPTIONS = "halt_on_error=1:print_stacktrace=1:exitcode=87"


class Unavailable(Exception):
    """The sanitized build cannot be made here (the reason is the message)."""


def _compiler() -> tuple[str, bool]:
    """(compiler, is_clang): clang when installed (edge coverage for libFuzzer), else cc."""
    for name in ("clang", os.environ.get("CC") or "cc", "gcc"):
        path = shutil.which(name)
        if path:
            out = subprocess.run([path, "--version"], capture_output=True, text=True).stdout
            return path, "clang" in out.lower()
    raise Unavailable("no C compiler (cc, gcc or clang) on PATH")


def _runtime(cc: str, name: str) -> str:
    path = subprocess.run([cc, f"-print-file-name={name}"], capture_output=True,
                          text=True).stdout.strip()  # fmt: skip
    if not os.path.isabs(path) or not os.path.exists(path):
        raise Unavailable(f"the compiler has no {name} (sanitizer runtime not installed)")
    return os.path.realpath(path)


def build(workdir: Path) -> tuple[Path, list[str], bool]:
    """Compile the sanitized extension; returns (the .so, libraries to preload without
    atheris, is_clang). The runtime is left out of the link so either ASan runtime (the
    compiler's, or atheris's with libFuzzer) can be preloaded."""
    cc, clang = _compiler()
    include = sysconfig.get_paths()["include"]
    if not os.path.exists(os.path.join(include, "Python.h")):
        raise Unavailable(f"no Python headers in {include}")
    if clang:
        preload = [_runtime(cc, "libclang_rt.asan-x86_64.so")]
        cover = ["-fsanitize=fuzzer-no-link"]
    else:
        preload = [_runtime(cc, "libasan.so"), _runtime(cc, "libubsan.so")]
        cover = ["-fsanitize-coverage=trace-cmp"]
    obj, so = workdir / "_scan.o", workdir / "_scan.so"
    stubs = workdir / "cov_stubs.c"
    # gcc also traces float comparisons, which no runtime implements: no-ops (a preloaded
    # runtime's own definitions come first when it has them)
    stubs.write_text("".join(
        f"__attribute__((weak)) void __sanitizer_cov_trace_cmp{t}({c} a, {c} b) {{ (void)a; (void)b; }}\n"
        for t, c in (("f", "float"), ("d", "double"))
    ))  # fmt: skip
    flags = ["-O1", "-g", "-fno-omit-frame-pointer", "-std=c11", "-pthread", "-fPIC",
             "-Wall", "-Wno-unused-function", "-fsanitize=address,undefined",
             "-fno-sanitize-recover=all", *cover]  # fmt: skip
    for cmd in ([cc, *flags, f"-I{include}", "-c", str(SOURCE), "-o", str(obj)],
                [cc, "-O1", "-fPIC", "-c", str(stubs), "-o", str(stubs.with_suffix(".o"))],
                [cc, "-shared", "-pthread", str(obj), str(stubs.with_suffix(".o")), "-o",
                 str(so)]):  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise Unavailable("sanitized build failed: " + (done.stderr.strip()[-500:] or "?"))
    return so, preload, clang


def load_sanitized(so: str) -> None:
    """Make `podium.usage._scan` this build (before anything imports the adapters)."""
    import importlib.util

    import podium.usage

    spec = importlib.util.spec_from_file_location("podium.usage._scan", so)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules["podium.usage._scan"] = module
    podium.usage._scan = module  # type: ignore[attr-defined]


def _env(preload: list[str], workdir: Path, tag: str) -> dict[str, str]:
    env = dict(os.environ)
    env["LD_PRELOAD"] = " ".join(preload)
    env["ASAN_OPTIONS"] = f"{ASAN_OPTIONS}:log_path={workdir / ('asan-' + tag)}"
    if tag == "fuzz":  # a leak check after every input is slow, and CPython's are noise:
        env["ASAN_OPTIONS"] += ":detect_leaks=0"  # the differential run checks leaks
    env["UBSAN_OPTIONS"] = f"{UBSAN_OPTIONS}:log_path={workdir / ('ubsan-' + tag)}"
    env["PYTHONMALLOC"] = "malloc"  # Python's own buffers under ASan too
    env["PODIUM_NATIVE"] = "1"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "backend"),
                                         env.get("PYTHONPATH", "")])  # fmt: skip
    return env


def _reports(workdir: Path, tag: str) -> list[str]:
    """Sanitizer reports of one child, leaks of Python's own objects left out."""
    found = []
    for path in sorted(workdir.glob(f"*san-{tag}.*")):
        text = path.read_text(errors="replace")
        blocks = [b for b in text.split("\n\n") if b.strip()]
        if "LeakSanitizer" in text:
            blocks = _leaks_in_scanner(text)
        if blocks:
            found.append(f"{path.name}:\n" + "\n\n".join(blocks))
    return found


def _leaks_in_scanner(text: str) -> list[str]:
    """The leak reports whose allocation stack runs through _scan.c (the rest is CPython's
    memory still held at exit), plus any non-leak report in the same log."""
    head, _, leaks = text.partition("ERROR: LeakSanitizer")
    head = "\n".join(line for line in head.splitlines() if line.strip("=0123456789 "))
    kept = [head.strip()] if head.strip() else []
    for block in leaks.split("\n\n"):
        if ("Direct leak" in block or "Indirect leak" in block) and "_scan.c" in block:
            kept.append(block.strip())
    return kept


def run_differential(so: Path, preload: list[str], workdir: Path, timeout: float) -> list[str]:
    code = (f"import sys; sys.path[:0] = [{str(ROOT)!r}]; import bench.fuzz_scan as f; "
            f"f.load_sanitized({str(so)!r}); import pytest; "
            "from podium.usage import _scan; print('scanner under test:', _scan.__file__); "
            "rc = pytest.main(['-q', '-p', 'no:cacheprovider', '-p', 'no:rerunfailures', "
            "'tests/usage/test_native_scan.py']); print('pytest exit', int(rc)); sys.exit(rc)")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_env(preload, workdir, "diff"),
                          capture_output=True, text=True, timeout=timeout)  # fmt: skip
    tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
    print(f"differential (tests/usage/test_native_scan.py): exit {done.returncode}\n{tail}")
    findings = _reports(workdir, "diff")
    if str(so) not in done.stdout:
        findings.append("the child did not import the sanitized build")
    # LeakSanitizer turns the exit code into ASAN's when CPython holds memory at exit: that
    # alone is no finding (_reports kept the leaks that go through _scan.c)
    if "pytest exit 0" not in done.stdout or done.returncode not in (0, LEAK_EXIT):
        findings.append(f"differential run failed (exit {done.returncode}):\n{tail}")
    return findings


def run_atheris(so: Path, workdir: Path, seconds: float, clang: bool) -> list[str]:
    try:
        import atheris
    except ImportError:
        print("coverage-guided fuzz skipped: atheris is not installed "
              "(pip install 'atheris>=2.3'; it ships wheels for Linux x86_64)")  # fmt: skip
        return []
    preload = [os.path.join(atheris.path(), "asan_with_fuzzer.so")]
    if not os.path.exists(preload[0]):
        print(f"coverage-guided fuzz skipped: {preload[0]} is missing from atheris")
        return []
    corpus, crashes = workdir / "corpus", workdir / "crashes"
    for d in (corpus, crashes):
        d.mkdir(exist_ok=True)
    args = [sys.executable, __file__, "--child-atheris", str(so), str(corpus),
            f"-max_total_time={max(int(seconds), 1)}", "-use_value_profile=1", "-max_len=4096",
            "-timeout=20", "-rss_limit_mb=4096", f"-artifact_prefix={crashes}/",
            "-print_final_stats=1"]  # fmt: skip
    started = time.monotonic()
    done = subprocess.run(args, cwd=ROOT, env=_env(preload, workdir, "fuzz"), capture_output=True,
                          text=True, timeout=seconds * 3 + 120)  # fmt: skip
    out = done.stdout + done.stderr
    stats = [line for line in out.splitlines() if line.startswith(("stat::", "#", "Done"))]
    summary = ", ".join(s.split(":", 2)[-1].strip() for s in stats if "number_of_executed" in s
                        or "new_units_added" in s)  # fmt: skip
    print(f"coverage-guided (atheris, {'clang edge coverage' if clang else 'gcc: value profile'}):"
          f" exit {done.returncode} in {time.monotonic() - started:.0f} s; "
          f"{summary or (stats[-1] if stats else '')}")  # fmt: skip
    findings = _reports(workdir, "fuzz")
    artifacts = sorted(crashes.iterdir())
    if done.returncode != 0 or artifacts:
        tail = "\n".join(out.strip().splitlines()[-40:])
        findings.append(f"fuzzer exit {done.returncode}, inputs kept: "
                        f"{[str(a) for a in artifacts]}\n{tail}")  # fmt: skip
    return findings


# -- the fuzz target (in the child) ----------------------------------------------------------------
def _seeds(corpus: Path) -> None:
    """Start from the hand-written edge cases and realistic lines."""
    import orjson
    from tests.usage.conftest import T0, message
    from tests.usage.scan_parity import edge_lines

    real = [orjson.dumps(line) for line in message(T0, out=7, blocks=2)]
    for i, line in enumerate([*edge_lines(), *real]):
        if len(line) < 2000:  # (one deeply nested line is longer)
            (corpus / f"seed-{i}").write_bytes(bytes([i % 4, i % 8]) + line + b"\n")
    (corpus / "seed-real").write_bytes(b"\x02\x00" + b"\n".join(real) + b"\n")


def child_atheris(so: str, argv: list[str]) -> None:
    load_sanitized(so)
    import atheris

    with atheris.instrument_imports(include=["podium.usage"]):
        from tests.usage.scan_parity import prefetch_parity, reader_parity
    corpus = Path(argv[0])
    if not any(corpus.iterdir()):
        _seeds(corpus)
    scratch = Path(tempfile.mkdtemp(prefix="podium-fuzz-"))
    path = scratch / "projects" / "-p" / "f.jsonl"
    path.parent.mkdir(parents=True)
    shapes = [(16, 64, 1), (64, 300, 100), (4096, 1 << 20, 1 << 30), (1000, 2000, 5000)]

    def one_input(data: bytes) -> None:
        if len(data) < 2:
            return
        chunk_size, max_line, limit = shapes[data[0] % len(shapes)]
        path.write_bytes(data[2:])
        reader_parity(path, chunk_size=chunk_size, max_line=max_line, limit=limit)
        if data[1] % 8 == 0:  # (threads: slower per input)
            prefetch_parity(path, chunk_size=chunk_size, max_line=max_line, limit=limit)

    atheris.Setup([sys.argv[0], *argv], one_input)
    atheris.Fuzz()


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--child-atheris":
        child_atheris(sys.argv[2], sys.argv[3:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=25.0,
                        help="the whole run's budget; the fuzzer gets what the build and the "
                        "differential tests leave (at least 5 s)")  # fmt: skip
    parser.add_argument("--workdir", type=Path, help="keep the build, corpus and findings here")
    args = parser.parse_args()
    started = time.monotonic()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="podium-sanitized-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        so, preload, clang = build(workdir)
    except Unavailable as exc:
        print(f"sanitizer run skipped: {exc}", file=sys.stderr)
        return SKIPPED
    print(f"built {so} ({'clang' if clang else 'gcc'}, ASan + UBSan) in "
          f"{time.monotonic() - started:.1f} s")  # fmt: skip
    findings = run_differential(so, preload, workdir, timeout=max(args.seconds * 4, 300))
    left = args.seconds - (time.monotonic() - started)
    findings += run_atheris(so, workdir, max(left, 5.0), clang)
    print(f"total {time.monotonic() - started:.1f} s; work dir {workdir}")
    if findings:
        print("FINDINGS:\n" + "\n\n".join(findings), file=sys.stderr)
        return 1
    print("no finding")
    if args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
