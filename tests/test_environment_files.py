"""requirements.txt is the one place for versions; environment.yml (Binder, conda) must mirror it.

Also checks the Binder postBuild and the CI entry point, which are easy to break silently.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]

#: conda-forge package name -> the PyPI name it stands for in requirements.txt.
CONDA_ALIASES = {
    "matplotlib-base": "matplotlib",  # matplotlib without the Qt backend
    "dask-core": "dask",  # what `pip install dask` gives (no optional extras)
}
#: Entries of environment.yml that are not course packages.
NOT_PINNED = {"python", "pip"}


def normalise(name: str) -> str:
    """PEP 503 form: case-insensitive, '-', '_' and '.' are the same."""
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_requirements(text: str) -> dict[str, str]:
    pins: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([A-Za-z0-9.+!*-]+)", line)
        if not match:
            raise ValueError(f"requirements.txt line {number} is not an exact pin 'name==version': {raw!r}")
        name = normalise(match[1])
        if name in pins:
            raise ValueError(f"requirements.txt pins {match[1]} twice")
        pins[name] = match[2]
    return pins


def parse_environment(text: str) -> tuple[dict[str, str], dict]:
    """Return ({normalised PyPI name: version}, the parsed YAML)."""
    env = yaml.safe_load(text)
    pins: dict[str, str] = {}

    def add(name: str, version: str, where: str) -> None:
        name = normalise(name)
        name = CONDA_ALIASES.get(name, name) if where == "conda" else name
        if name in pins:
            raise ValueError(f"environment.yml lists {name} twice")
        pins[name] = version

    for dep in env.get("dependencies", []):
        if isinstance(dep, dict):
            for spec in dep.get("pip", []):
                match = re.fullmatch(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*(\S+)\s*", spec)
                if not match:
                    raise ValueError(f"environment.yml pip entry is not an exact pin 'name==version': {spec!r}")
                add(match[1], match[2], "pip")
            continue
        match = re.fullmatch(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:(==?)\s*(\S+))?\s*", str(dep))
        if not match:
            raise ValueError(f"environment.yml entry not understood: {dep!r}")
        name, op, version = match[1], match[2], match[3]
        if normalise(name) in NOT_PINNED:
            continue
        if op != "==":
            # conda reads 'name=1.2' as 1.2.* -- not an exact pin.
            raise ValueError(f"environment.yml entry {dep!r} must be an exact pin 'name==version'")
        add(name, version, "conda")
    return pins, env


@pytest.fixture(scope="module")
def requirement_pins() -> dict[str, str]:
    return parse_requirements((ROOT / "requirements.txt").read_text())


@pytest.fixture(scope="module")
def environment():
    return parse_environment((ROOT / "environment.yml").read_text())


def test_environment_mirrors_every_pin(requirement_pins, environment):
    env_pins, _ = environment
    missing = sorted(set(requirement_pins) - set(env_pins))
    extra = sorted(set(env_pins) - set(requirement_pins))
    differ = sorted(f"{n}: requirements.txt {requirement_pins[n]}, environment.yml {env_pins[n]}"
                    for n in set(requirement_pins) & set(env_pins)
                    if requirement_pins[n] != env_pins[n])
    problems = []
    if missing:
        problems.append(f"in requirements.txt but not environment.yml: {', '.join(missing)}")
    if extra:
        problems.append(f"in environment.yml but not requirements.txt: {', '.join(extra)}")
    if differ:
        problems.append("versions differ: " + "; ".join(differ))
    assert not problems, "environment.yml does not mirror requirements.txt\n" + "\n".join(problems)


def test_environment_python_and_channel(environment):
    _, env = environment
    deps = [str(d).replace(" ", "") for d in env["dependencies"] if not isinstance(d, dict)]
    assert "python=3.11" in deps, "environment.yml must ask for python=3.11 (the version .venv uses)"
    assert env["channels"][0] == "conda-forge"
    assert "defaults" not in env["channels"]
    if any(isinstance(d, dict) and "pip" in d for d in env["dependencies"]):
        assert "pip" in deps, "a pip: section needs 'pip' among the conda dependencies"


@pytest.mark.parametrize("bad, message", [
    ("jupyterlab==4.6.6\nnumpy>=2\n", "exact pin"),
    ("jupyterlab==4.6.6\nJupyterLab==4.6.6\n", "twice"),
])
def test_requirements_parser_rejects(bad, message):
    with pytest.raises(ValueError, match=message):
        parse_requirements(bad)


def test_the_check_notices_a_mismatch(requirement_pins):
    """The comparison itself works: names normalised, aliases honoured, drift detected."""
    text = ("channels: [conda-forge]\ndependencies:\n  - python=3.11\n  - pip\n"
            "  - Matplotlib-Base==3.11.2\n  - pip:\n    - JupyterLab-RISE==0.43.1\n")
    pins, _ = parse_environment(text)
    assert pins == {"matplotlib": "3.11.2", "jupyterlab-rise": "0.43.1"}
    with pytest.raises(ValueError, match="exact pin"):
        parse_environment("dependencies:\n  - numpy=2.4\n")
    drifted, _ = parse_environment(text.replace("3.11.2", "3.11.1"))
    assert drifted["matplotlib"] != requirement_pins["matplotlib"]


# --------------------------------------------------------------------------- postBuild


def test_postbuild_shape():
    text = (ROOT / "postBuild").read_text()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    assert lines[0] == "set -e", "postBuild must start with `set -e`, or a failing step passes silently"
    assert "pip install --no-deps -e ." in text
    assert os.access(ROOT / "postBuild", os.X_OK), "postBuild must be executable"


@pytest.mark.skipif(sys.platform == "win32" or shutil.which("bash") is None, reason="needs bash")
def test_postbuild_writes_the_news_override(tmp_path):
    """Run postBuild for real, with a stand-in pip, against a scratch environment prefix."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake_pip = bindir / "pip"
    fake_pip.write_text(f"#!/bin/sh\necho \"$@\" > {tmp_path}/pip-args\n")
    fake_pip.chmod(fake_pip.stat().st_mode | stat.S_IEXEC)
    (bindir / "python").symlink_to(sys.executable)
    prefix = tmp_path / "env"
    settings = prefix / "share/jupyter/lab/settings"
    settings.mkdir(parents=True)
    (settings / "overrides.json").write_text('{"other:plugin": {"x": 1}}')
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}",
           "NB_PYTHON_PREFIX": str(prefix)}
    subprocess.run(["bash", str(ROOT / "postBuild")], cwd=ROOT, env=env, check=True, timeout=60)
    assert (tmp_path / "pip-args").read_text().split() == ["install", "--no-deps", "-e", "."]
    overrides = json.loads((settings / "overrides.json").read_text())
    assert overrides["@jupyterlab/apputils-extension:notification"] == {"fetchNews": "false"}
    assert overrides["other:plugin"] == {"x": 1}, "postBuild must keep existing overrides"


# --------------------------------------------------------------------------- CI entry point


def test_ci_run_script():
    path = ROOT / ".ci" / "run"
    text = path.read_text()
    assert text.startswith("#!/bin/bash") or text.startswith("#!/usr/bin/env bash")
    code = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    assert code[0] == "set -euo pipefail"
    assert "export REQUIRE_BROWSER=1" in code
    assert code[-1] == "make test", ".ci/run must end by running the README's command, `make test`"
    assert "apt-get install -y chromium" in text
    assert os.access(path, os.X_OK), ".ci/run must be executable"


def test_the_binder_badge_follows_the_one_repository_setting():
    """pyproject's [project.urls] Repository is the one setting; README and site follow it."""
    import tomllib

    root = Path(__file__).resolve().parents[1]
    url = tomllib.loads((root / "pyproject.toml").read_text())["project"]["urls"]["Repository"]
    repo = url.removeprefix("https://github.com/").rstrip("/")
    assert repo.count("/") == 1
    readme = (root / "README.md").read_text()
    binder = re.findall(r"mybinder\.org/v2/gh/([^/]+/[^/]+)/", readme)
    assert binder and set(binder) == {repo}, (binder, repo)
    sys.path.insert(0, str(root / "tools"))
    import build_site

    assert f"/gh/{repo}/HEAD" in build_site.binder_link("00_welcome.ipynb")
