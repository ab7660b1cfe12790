"""Harness for shunt's end-to-end tests.

Starts the real `shunt` binary on 127.0.0.1:0, reads the trust kit it writes, and runs
real SDK clients as child processes whose environment is built from scratch: nothing of
this machine's own proxy or CA settings may reach them, only PATH, HOME, LANG and what
the test puts there (normally the kit's `shunt.env`).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

E2E_DIR = Path(__file__).resolve().parent
CLIENTS_DIR = E2E_DIR / "clients"
FIXTURES_DIR = E2E_DIR / "fixtures"
REPO_ROOT = Path(__file__).resolve().parents[2]

SHUNT_BIN = Path(os.environ.get("SHUNT_BIN") or REPO_ROOT / "target/debug/shunt")
PYTHON = os.environ.get("SHUNT_E2E_PYTHON") or sys.executable

# The keys every kit's shunt.env must define: proxy (both cases), trust for every
# Python HTTP stack and curl, fake ADC, and the project/location the SDKs read.
KIT_KEYS = (
    "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy",
    "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
    "GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT", "GOOGLE_CLOUD_LOCATION",
    "GOOGLE_GENAI_USE_VERTEXAI", "ANTHROPIC_VERTEX_PROJECT_ID", "CLOUD_ML_REGION",
    "GOOGLE_API_USE_CLIENT_CERTIFICATE",
)
KIT_FILES = ("ca.pem", "ca-key.pem", "bundle.pem", "adc.json", "shunt.env")

LISTENING_RE = re.compile(r"listening addr=(\S+)")
ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
CLIENT_TIMEOUT = 90.0


def base_env(home: Path) -> dict[str, str]:
    """The only variables a child inherits from this machine: PATH, a fresh HOME, LANG."""
    return {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
    }


def parse_env_file(path: Path) -> dict[str, str]:
    """Parse KEY=VALUE lines (blank lines and `#` comments skipped), as docker's env_file does."""
    env: dict[str, str] = {}
    for n, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key), (
            f"{path}:{n}: not a KEY=VALUE line: {raw!r}"
        )
        env[key] = value
    return env


def last_json_line(stdout: str) -> dict:
    """The result a client script printed: its last stdout line that parses as a JSON object."""
    for line in reversed(stdout.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                continue
    raise AssertionError(f"client printed no JSON result line; stdout was:\n{stdout}")


class Drain:
    """Reads a child's pipe line by line in a thread, keeping every line for diagnostics."""

    def __init__(self, stream, name: str):
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(
            target=self._run, args=(stream,), name=f"drain-{name}", daemon=True
        )
        self._thread.start()

    def _run(self, stream):
        for line in stream:
            with self._cond:
                self.lines.append(ANSI_RE.sub("", line.rstrip("\n")))
                self._cond.notify_all()
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def wait_for(self, regex: re.Pattern, timeout: float) -> re.Match | None:
        """First match of regex in any line, waiting up to timeout; None on timeout or EOF."""
        deadline = time.monotonic() + timeout
        seen = 0
        with self._cond:
            while True:
                for line in self.lines[seen:]:
                    m = regex.search(line)
                    if m:
                        return m
                seen = len(self.lines)
                left = deadline - time.monotonic()
                if self._closed or left <= 0:
                    return None
                self._cond.wait(left)

    def join(self, timeout: float = 5.0):
        self._thread.join(timeout)

    def text(self) -> str:
        with self._cond:
            return "\n".join(self.lines)


class Shunt:
    """A running `shunt serve` and the trust kit it wrote."""

    def __init__(self, workdir: Path, args: list[str], certs: Path | None = None):
        self.workdir = workdir
        self.certs = certs or workdir / "certs"
        self.home = workdir / "home"
        self.certs.mkdir(parents=True, exist_ok=True)
        self.home.mkdir(parents=True)
        self.args = args
        self.cmd = self.command(args)
        self.addr = ""
        self.url = ""
        self.returncode: int | None = None
        check_binary()
        self.proc = subprocess.Popen(
            self.cmd,
            env={**base_env(self.home), "NO_COLOR": "1"},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
        )
        self.stderr = Drain(self.proc.stderr, "shunt-stderr")
        self.stdout = Drain(self.proc.stdout, "shunt-stdout")
        m = self.stderr.wait_for(LISTENING_RE, START_TIMEOUT)
        if m is None:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(
                f"shunt did not log `listening addr=...` within {START_TIMEOUT}s "
                f"(exit code {self.proc.returncode})\n{self.log()}"
            )
        self.addr = m.group(1)
        self.url = f"http://{self.addr}"
        self.host, _, port = self.addr.rpartition(":")
        self.port = int(port)

    def command(self, args: list[str]) -> list[str]:
        """The command line to start (subclasses start another subcommand)."""
        return [str(SHUNT_BIN), "serve", "--listen", "127.0.0.1:0", "--certs", str(self.certs), *args]

    def log(self) -> str:
        """Everything shunt printed so far, for failure messages."""
        return (
            f"--- shunt {' '.join(self.cmd)}\n--- stderr:\n{self.stderr.text()}\n"
            f"--- stdout:\n{self.stdout.text()}"
        )

    def kit(self) -> dict[str, str]:
        """The env block from the kit's shunt.env, parsed."""
        return parse_env_file(self.certs / "shunt.env")

    def env(self, **overrides: str | None) -> dict[str, str]:
        """Client env: PATH/HOME/LANG, then shunt.env, then overrides (None removes a key)."""
        env = {**base_env(self.home), **self.kit()}
        for key, value in overrides.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return env

    def run(self, cmd: list[str], env: dict[str, str], timeout: float = CLIENT_TIMEOUT,
            check: bool = True) -> subprocess.CompletedProcess:
        """Run a child with exactly `env`; on a non-zero exit fail with its output and shunt's log."""
        try:
            res = subprocess.run(
                cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                timeout=timeout, cwd=self.workdir,
            )
        except subprocess.TimeoutExpired as e:
            pytest.fail(
                f"{cmd} timed out after {timeout}s\nstdout:\n{e.stdout}\nstderr:\n{e.stderr}\n"
                f"{self.log()}"
            )
        if check and res.returncode != 0:
            pytest.fail(
                f"{cmd} exited {res.returncode}\n--- env: {json.dumps(env, indent=1)}\n"
                f"--- stdout:\n{res.stdout}\n--- stderr:\n{res.stderr}\n{self.log()}"
            )
        return res

    def client(self, script: str, *args: str, env: dict[str, str] | None = None,
               timeout: float = CLIENT_TIMEOUT) -> dict:
        """Run clients/<script> under the e2e venv's python; return its JSON result line."""
        env = self.env() if env is None else env
        res = self.run([PYTHON, str(CLIENTS_DIR / script), *args], env=env, timeout=timeout)
        try:
            return last_json_line(res.stdout)
        except AssertionError as e:
            pytest.fail(f"{e}\nstderr:\n{res.stderr}\n{self.log()}")

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        """Run another shunt subcommand (e.g. `creds`) with the bare PATH/HOME/LANG env."""
        return self.run([str(SHUNT_BIN), *args], env=base_env(self.home), timeout=60)

    def stop(self) -> int:
        """SIGTERM, wait, and return the exit code (killing it if it does not stop)."""
        if self.returncode is not None:
            return self.returncode
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.stderr.join()
                self.returncode = self.proc.returncode
                pytest.fail(f"shunt did not exit within {STOP_TIMEOUT}s of SIGTERM\n{self.log()}")
        self.stderr.join()
        self.stdout.join()
        self.returncode = self.proc.returncode
        return self.returncode

    def stop_and_check(self):
        """Stop and assert exit code 0 (reported once, even if called again at teardown)."""
        if self.returncode is not None:
            return
        code = self.stop()
        assert code == 0, f"shunt exited {code} after SIGTERM (expected 0)\n{self.log()}"


class ShuntMock(Shunt):
    """A running `shunt mock` (the built-in mock alone, plain HTTP, no trust kit).

    Clients get only PATH/HOME/LANG: they talk to `self.url` directly, with no proxy.
    """

    def command(self, args: list[str]) -> list[str]:
        return [str(SHUNT_BIN), "mock", "--listen", "127.0.0.1:0", *args]

    def env(self, **overrides: str | None) -> dict[str, str]:
        env = base_env(self.home)
        env.update({k: v for k, v in overrides.items() if v is not None})
        return env


def check_binary():
    """A missing or non-executable binary fails the test (never skips it)."""
    if not (SHUNT_BIN.is_file() and os.access(SHUNT_BIN, os.X_OK)):
        pytest.fail(f"shunt binary not found or not executable: {SHUNT_BIN} (set SHUNT_BIN)")


def refused_start(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    """Run `shunt serve ARGS` expected to reject its config: assert it exits non-zero
    without ever listening; return the finished process (stderr has the reason)."""
    check_binary()
    try:
        res = subprocess.run(
            [str(SHUNT_BIN), "serve", "--listen", "127.0.0.1:0", "--certs",
             str(workdir / "certs"), *args],
            env={**base_env(workdir), "NO_COLOR": "1"}, stdin=subprocess.DEVNULL,
            capture_output=True, text=True, timeout=30,
        )
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"shunt accepted {args} and kept running\n{e.stderr}")
    assert res.returncode != 0, f"shunt accepted {args}:\n{res.stderr}"
    assert not LISTENING_RE.search(res.stderr), f"shunt listened with {args}:\n{res.stderr}"
    return res


@pytest.fixture(scope="module")
def shunt(tmp_path_factory):
    """One shunt with the default built-in mock, shared by a test module."""
    s = Shunt(tmp_path_factory.mktemp("shunt"), [])
    yield s
    s.stop_and_check()


@pytest.fixture
def start_shunt(tmp_path_factory):
    """Factory: start_shunt(*extra_args, certs=None) -> Shunt; each is stopped (exit 0) at teardown."""
    started: list[Shunt] = []

    def start(*args: str, certs: Path | None = None) -> Shunt:
        s = Shunt(tmp_path_factory.mktemp("shunt"), list(args), certs=certs)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop_and_check()


@pytest.fixture
def start_mock(tmp_path_factory):
    """Factory: start_mock(*extra_args) -> ShuntMock; each is stopped (exit 0) at teardown."""
    started: list[ShuntMock] = []

    def start(*args: str) -> ShuntMock:
        s = ShuntMock(tmp_path_factory.mktemp("mock"), list(args))
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop_and_check()


@pytest.fixture
def fake_mockllm(tmp_path):
    """fixtures/fake_mockllm.py on 127.0.0.1:0: yields (port, read_requests())."""
    record = tmp_path / "requests.jsonl"
    record.touch()
    proc = subprocess.Popen(
        [PYTHON, str(FIXTURES_DIR / "fake_mockllm.py"), "--record", str(record)],
        env=base_env(tmp_path),
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    out = Drain(proc.stdout, "fake-stdout")
    err = Drain(proc.stderr, "fake-stderr")
    m = out.wait_for(re.compile(r"^port=(\d+)$"), 15)
    if m is None:
        proc.kill()
        proc.wait()
        pytest.fail(f"fake_mockllm did not start\nstdout:\n{out.text()}\nstderr:\n{err.text()}")

    class Fake:
        port = int(m.group(1))

        @staticmethod
        def requests() -> list[dict]:
            return [json.loads(l) for l in record.read_text().splitlines() if l.strip()]

        @staticmethod
        def log() -> str:
            return err.text()

    yield Fake
    proc.terminate()
    proc.wait(timeout=10)
