"""The package's metadata: no setuptools deprecation warning at install, rich declared."""

from __future__ import annotations

import tomllib
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_license_is_an_spdx_string_with_its_file():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    meta = project["project"]
    assert meta["license"] == "MIT"  # a table here is deprecated by setuptools ≥ 77
    assert all((ROOT / f).is_file() for f in meta["license-files"])
    assert any(r.startswith("setuptools>=77") for r in project["build-system"]["requires"])
    assert any(d.startswith("rich>=") for d in meta["dependencies"])


def test_setuptools_reads_the_pyproject_without_a_deprecation_warning():
    setuptools = pytest.importorskip("setuptools")
    major = int(setuptools.__version__.split(".")[0])
    if major < 77:
        pytest.skip(f"setuptools {setuptools.__version__} here predates SPDX license strings "
                    "(pip builds with ≥ 77 from build-system.requires)")  # fmt: skip
    from setuptools.config.pyprojecttoml import read_configuration
    from setuptools.warnings import SetuptoolsDeprecationWarning

    with warnings.catch_warnings():
        # (`ext-modules` is "experimental": a notice, not a deprecation)
        warnings.simplefilter("error", SetuptoolsDeprecationWarning)
        warnings.simplefilter("error", DeprecationWarning)
        config = read_configuration(ROOT / "pyproject.toml")
    assert config["project"]["license"] == "MIT"
