"""The free-threaded leg's files: requirements-ft.txt keeps requirements.txt's pins except where
a free-threaded wheel forces another version, and CI finds or builds the interpreter first."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: What a notebook kernel imports (nbval and JupyterLab stay in .venv).
KERNEL_PACKAGES = {"ipykernel", "ipywidgets", "matplotlib", "numpy", "psutil", "threadpoolctl",
                   "dask", "distributed"}
#: Pinned to another version than requirements.txt's, for a cp313t wheel (said in the file).
DIFFERENT_ON_PURPOSE = {"matplotlib"}


def pins(name: str) -> dict[str, str]:
    found = {}
    for raw in (ROOT / name).read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", line)
            assert match, f"{name}: not an exact pin: {raw!r}"
            found[re.sub(r"[-_.]+", "-", match[1]).lower()] = match[2]
    return found


def test_ft_pins_follow_requirements():
    main, ft = pins("requirements.txt"), pins("requirements-ft.txt")
    assert KERNEL_PACKAGES <= set(ft), f"requirements-ft.txt lacks {KERNEL_PACKAGES - set(ft)}"
    differ = {n for n in set(main) & set(ft) if main[n] != ft[n]}
    assert differ == DIFFERENT_ON_PURPOSE, (
        f"requirements-ft.txt differs from requirements.txt in {sorted(differ)}; "
        f"expected only {sorted(DIFFERENT_ON_PURPOSE)} (say why in its header comment)")
    text = (ROOT / "requirements-ft.txt").read_text()
    for name in DIFFERENT_ON_PURPOSE:
        assert re.search(rf"^#.*{name}", text, re.M | re.I), f"say why {name} differs"


def test_ci_finds_or_builds_the_interpreter_before_make_test():
    code = [ln.strip() for ln in (ROOT / ".ci" / "run").read_text().splitlines()
            if ln.strip() and not ln.lstrip().startswith("#")]
    build = next(i for i, ln in enumerate(code) if "tools/free_threaded_python.sh" in ln)
    assert build < code.index("make test")
    assert "export PYTHON_FT" in code


def test_build_script_parses_and_names_no_registry_host():
    script = ROOT / "tools" / "free_threaded_python.sh"
    subprocess.run(["bash", "-n", str(script)], check=True)
    text = script.read_text()
    assert "set -euo pipefail" in text
    assert not re.search(r"https?://", text), "read the mirror from the machine's apt sources"
