"""The installer's cache and skip rules, without downloading anything."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest

from .install import CLAUDE_VERSION, STAMP, NpmUnreachable, install_claude, installed_binary


def test_a_complete_cache_is_reused_without_npm(claude_bin, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")  # npm cannot run: the cache must be enough
    cache = next(p for p in claude_bin.parents if (p / STAMP).is_file())
    assert install_claude(cache, log=pytest.fail) == claude_bin
    assert installed_binary(cache) == claude_bin


def test_a_stamp_without_a_working_binary_is_not_an_install(tmp_path):
    cache = tmp_path / "cache"
    (cache / "bin").mkdir(parents=True)
    fake = cache / "bin" / "claude"
    fake.write_text("#!/bin/sh\necho 2.0.0 '(Claude Code)'\n")
    fake.chmod(0o755)
    (cache / STAMP).write_text("bin/claude\n")
    assert installed_binary(cache) is None, f"only {CLAUDE_VERSION} counts"
    assert installed_binary(tmp_path / "missing") is None


def test_no_npm_on_path_is_unreachable(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(NpmUnreachable, match="not on PATH"):
        install_claude(tmp_path / "cache", log=lambda _: None)
    assert not (tmp_path / "cache").exists()


@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed")
def test_a_registry_that_refuses_connections_is_unreachable(tmp_path, monkeypatch):
    with socket.socket() as probe:  # a port with nobody listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("npm_config_registry", f"http://127.0.0.1:{port}/")
    monkeypatch.setenv("npm_config_cache", str(tmp_path / "npm-cache"))
    with pytest.raises(NpmUnreachable, match="ECONNREFUSED"):
        install_claude(tmp_path / "cache", log=lambda _: None)
    assert not os.path.exists(tmp_path / "cache")


def test_cache_dir_override(monkeypatch, tmp_path):
    from .install import cache_dir

    monkeypatch.setenv("PODIUM_CLAUDE_CACHE", str(tmp_path / "x"))
    assert cache_dir() == tmp_path / "x"
    monkeypatch.delenv("PODIUM_CLAUDE_CACHE")
    assert cache_dir() == Path.home() / ".cache" / "podium-claude" / CLAUDE_VERSION
