"""The Podium wheels the .vsix carries (`dist/wheels/`), for the extension to build its own
Python environment where no Python with Podium is configured.

    python scripts/bundle_wheels.py OUT_DIR      (run by `npm run package`)

Two wheels: the one `pip wheel` builds here (with the native log scanner when a C compiler is
present: a platform wheel such as cp311-linux_x86_64), and a pure-Python copy of it
(py3-none-any: the scanner's C part left out, so it installs on any Python >= 3.11 and platform;
ingest then uses its Python reader, same results, slower). pip installs the most specific one
that fits the user's Python. Only the standard library and pip are needed (no network: the
build uses the running environment's setuptools).
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def build(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("podium-*.whl"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                        "--no-build-isolation", "--wheel-dir", tmp, str(ROOT)], check=True)  # fmt: skip
        (built,) = Path(tmp).glob("podium-*.whl")
        wheels = [Path(shutil.copy(built, out))]
    if not built.name.endswith("-py3-none-any.whl"):
        wheels.append(pure_copy(wheels[0], out))
    return wheels


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def pure_copy(wheel: Path, out: Path) -> Path:
    """`wheel` without its compiled modules, tagged py3-none-any (RECORD rewritten)."""
    name, version = wheel.name.split("-")[:2]
    target = out / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as src:
        files = {i.filename: src.read(i) for i in src.infolist() if not i.is_dir()}
    dist_info = f"{name}-{version}.dist-info"
    files = {n: d for n, d in files.items() if not n.endswith((".so", ".pyd"))}
    meta = files[f"{dist_info}/WHEEL"].decode().splitlines()
    meta = [line for line in meta if not line.startswith(("Tag:", "Root-Is-Purelib:"))]
    meta += ["Root-Is-Purelib: true", "Tag: py3-none-any"]
    files[f"{dist_info}/WHEEL"] = ("\n".join(meta) + "\n").encode()
    record = f"{dist_info}/RECORD"
    files.pop(record, None)
    lines = [_record_line(n, d) for n, d in sorted(files.items())] + [f"{record},,"]
    files[record] = ("\n".join(lines) + "\n").encode()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as dst:
        for n in sorted(files):
            dst.writestr(n, files[n])
    return target


if __name__ == "__main__":
    for path in build(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "editor-client/dist/wheels"):
        print(path)
