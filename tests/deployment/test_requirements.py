"""The requirement sets and their lock files (requirements/, `make lock`; README "Dependencies").

`make run` installs requirements/lock/local.txt only, `make bench` bench.txt, `make test` test.txt, the
platform and the image production.txt; each lock pins every package with hashes. These tests read the
files (no network): a lock that no longer matches its set (a pin edited, a dependency added without
`make lock`) fails here before an install does.
"""

import itertools
import re
import subprocess
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ROOT / "requirements"
LOCKS = REQUIREMENTS / "lock"
# Each set and the sets it includes (-r), smallest first.
SETS = ["production", "local", "bench", "test"]
# What the first run must not install: the benchmark's and the tests' toolchains.
HEAVY = {"locust", "matplotlib", "numpy", "py-spy", "granian", "gevent"} | {
    "playwright",
    "pytest",
    "schemathesis",
    "hypothesis",
}


def direct_pins(name: str) -> dict[str, str]:
    """{canonical name: version} of a set's own lines and of the sets it includes with ``-r``."""
    pins: dict[str, str] = {}
    for line in (REQUIREMENTS / f"{name}.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-r "):
            pins.update(direct_pins(Path(line[3:].strip()).stem))
            continue
        requirement = Requirement(line)
        (specifier,) = requirement.specifier
        assert specifier.operator == "==", f"{name}.txt: {line} is not an exact pin"
        pins[canonicalize_name(requirement.name)] = specifier.version
    return pins


def locked(name: str) -> dict[str, tuple[str, list[str]]]:
    """{canonical name: (version, hashes)} of a lock file."""
    text = re.sub(r"\\\n\s*", " ", (LOCKS / f"{name}.txt").read_text())
    entries = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        requirement, *options = line.split(" --hash=")
        parsed = Requirement(requirement.strip())
        (specifier,) = parsed.specifier
        entries[canonicalize_name(parsed.name)] = (specifier.version, [option.strip() for option in options])
    return entries


@pytest.mark.parametrize("name", [*SETS, "uv"])
def test_every_locked_package_is_pinned_with_hashes(name):
    entries = locked(name)

    assert entries
    for package, (version, hashes) in entries.items():
        assert hashes, f"lock/{name}.txt: {package}=={version} has no hash"
        assert all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in hashes), package


@pytest.mark.parametrize("name", [*SETS, "uv"])
def test_each_lock_holds_its_sets_pins_so_make_lock_ran_after_the_last_change(name):
    pins = direct_pins(name)
    entries = locked(name)

    stale = {package: (version, entries.get(package, ("missing",))[0]) for package, version in pins.items()}
    stale = {package: pair for package, pair in stale.items() if pair[0] != pair[1]}
    assert not stale, (
        f"requirements/{name}.txt vs lock/{name}.txt, {{package: (pinned, locked)}}: {stale}; run `make lock`"
    )


def test_a_package_has_one_version_in_every_set_and_each_set_holds_the_smaller_ones():
    locks = {name: locked(name) for name in SETS}

    for smaller, larger in itertools.pairwise(SETS):
        for package, (version, _) in locks[smaller].items():
            assert package in locks[larger], f"{package} is in lock/{smaller}.txt but not lock/{larger}.txt"
            other = locks[larger][package][0]
            assert other == version, f"{package}: {version} in lock/{smaller}.txt, {other} in lock/{larger}.txt"


def test_the_first_run_installs_neither_the_benchmark_nor_the_test_toolchain():
    assert not HEAVY & set(locked("local")), HEAVY & set(locked("local"))
    assert not HEAVY & set(locked("production"))
    assert {"locust", "matplotlib"} <= set(locked("bench"))
    assert {"pytest", "playwright", "locust"} <= set(locked("test"))


def make_dry_run(target: str, tmp_path: Path) -> str:
    """The commands `make target` would run with a virtualenv that does not exist yet."""
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", target, f"VENV={tmp_path / 'venv'}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize(("target", "lock"), [("run", "local"), ("bench", "bench"), ("test", "test")])
def test_each_make_target_installs_its_own_lock_with_require_hashes(target, lock, tmp_path):
    installs = [line for line in make_dry_run(target, tmp_path).splitlines() if "pip install" in line]

    assert all("--require-hashes -r requirements/lock/" in line for line in installs), installs
    assert any(line.endswith(f"requirements/lock/{lock}.txt") for line in installs), installs
    if target == "run":
        assert not any("lock/bench.txt" in line or "lock/test.txt" in line for line in installs)


def test_make_lock_regenerates_every_lock_with_hashes_from_its_set(tmp_path):
    commands = make_dry_run("lock", tmp_path)
    compiles = [line for line in commands.splitlines() if "uv pip compile" in line]

    assert all("--generate-hashes" in line for line in compiles), compiles
    assert any(line.endswith("requirements/test.txt -o requirements/lock/test.txt") for line in compiles)
    assert any(line.endswith("requirements/uv.txt -o requirements/lock/uv.txt") for line in compiles)
    # The smaller sets, each resolved within the largest lock.
    assert "for set in bench local production" in commands
    within = "-c requirements/lock/test.txt requirements/$set.txt -o requirements/lock/$set.txt"
    assert any(within in line for line in compiles)
