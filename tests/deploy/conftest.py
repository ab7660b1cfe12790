"""Shared fixtures for the deployment tests (tests/deploy)."""

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yaml"


@pytest.fixture(scope="session")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="session")
def shunt_bin() -> Path:
    """SHUNT_BIN, else target/release/shunt (built when missing)."""
    path = Path(os.environ.get("SHUNT_BIN") or REPO / "target/release/shunt")
    if not path.exists():
        subprocess.run(
            ["cargo", "build", "--release", "--locked", "--bin", "shunt"], cwd=REPO, check=True
        )
    return path


_VAR = re.compile(r"\$\{(\w+)(?::?-([^}]*))?\}")


def interpolate(value: str, env: dict[str, str] | None = None) -> str:
    """Compose's `${VAR}` / `${VAR:-default}` interpolation (enough for our file)."""
    env = {} if env is None else env
    return _VAR.sub(lambda m: env.get(m.group(1)) or (m.group(2) or ""), value)


def service_env(compose: dict, name: str) -> dict[str, str]:
    """A service's `environment` as a dict (list or mapping form), interpolated."""
    env = compose["services"][name].get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: interpolate(str(v)) for k, v in env.items()}
