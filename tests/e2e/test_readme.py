"""The README's first hour, copied from the README itself: the "Try it in one minute" commands
(curl through the proxy, `shunt doctor` with the kit's env, one real SDK call) and the
docker compose snippet's app environment (the `shunt env` command it shows plus the
snippet's own keys) run against a real shunt. Only the addresses change: the README's
127.0.0.1:8080 / http://shunt:8080 / certs become this test's listener and kit."""

import re
import shlex
import subprocess

import yaml

from conftest import KIT_KEYS, PYTHON, REPO_ROOT, SHUNT_BIN, base_env, parse_env_file

README = (REPO_ROOT / "README.md").read_text()


def section(title: str) -> str:
    """The README text from `## title` to the next `## ` heading."""
    start = README.index(f"## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start:end if end != -1 else None]


def code_blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", text, re.S)


def commands(block: str) -> list[str]:
    """Shell commands of a block: comments dropped, backslash continuations joined."""
    joined = re.sub(r"\\\n\s*", " ", block)
    return [line.strip() for line in joined.splitlines()
            if line.strip() and not line.strip().startswith("#")]


def localize(command: str, shunt) -> str:
    """The README's addresses and paths, pointed at this test's shunt."""
    return (command.replace("http://127.0.0.1:8080", shunt.url)
            .replace("certs/", f"{shunt.certs}/")
            .replace("./target/release/shunt", str(SHUNT_BIN)))


def test_try_it_in_one_minute(shunt):
    """The three steps of "Try it in one minute", as printed: curl gets a mock reply through the
    proxy; `shunt doctor` passes with `certs/shunt.env` sourced; the openai one-liner prints text."""
    steps = commands(code_blocks(section("Try it in one minute"), "sh")[0])
    curl = next(c for c in steps if c.startswith("curl "))
    res = subprocess.run(shlex.split(localize(curl, shunt)), env=base_env(shunt.home),
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, f"{curl}\n{res.stderr}\n{shunt.log()}"
    assert '"candidates"' in res.stdout, res.stdout

    assert "set -a; . certs/shunt.env; set +a" in steps, steps
    doctor = next(c for c in steps if c.endswith("shunt doctor"))
    res = shunt.run(shlex.split(localize(doctor, shunt)), env=shunt.env(), check=False)
    assert res.returncode == 0, f"doctor failed:\n{res.stdout}\n{res.stderr}"
    assert "✘" not in res.stdout, res.stdout

    one_liner = next(c for c in steps if c.startswith("python3 -c "))
    argv = shlex.split(one_liner)
    res = shunt.run([PYTHON, *argv[1:]], env=shunt.env())
    assert res.stdout.strip(), f"the SDK call printed nothing:\n{res.stderr}"


def test_compose_snippet_env_diverts_an_app(shunt, tmp_path):
    """The compose section's `shunt env` command writes the app's env_file; with the snippet's
    app `environment` on top it holds every kit key, and an SDK run with exactly that env (the
    service name `shunt` and `/certs` pointed at this test's shunt) is diverted."""
    text = section("In docker compose")
    env_cmd = next(c for c in commands(code_blocks(text, "sh")[0]) if " env " in c)
    args = shlex.split(env_cmd.split("shunt:local", 1)[1].split(">", 1)[0])
    assert args[0] == "env", env_cmd
    res = subprocess.run([str(SHUNT_BIN), *args], env=base_env(tmp_path), capture_output=True,
                         text=True, timeout=30)
    assert res.returncode == 0, res.stderr
    env_file = tmp_path / "shunt.env"
    env_file.write_text(res.stdout)

    compose = yaml.safe_load(code_blocks(text, "yaml")[0])
    app = compose["services"]["app"]
    assert app["env_file"] == "shunt.env", app
    env = parse_env_file(env_file)
    env.update({k: str(v) for k, v in (app.get("environment") or {}).items()})
    missing = [k for k in KIT_KEYS if k not in env]
    assert not missing, f"the compose app lacks {missing}"
    assert compose["services"]["shunt"]["environment"]["SHUNT_PUBLIC_URL"] == env["HTTPS_PROXY"]

    # Inside compose `shunt` resolves to the proxy and /certs is the shared volume.
    local = {k: v.replace("http://shunt:8080", shunt.url).replace("/certs", str(shunt.certs))
             for k, v in env.items()}
    result = shunt.client("sdk_call.py", "genai", "sync", env={**base_env(shunt.home), **local})
    assert result["completed"] and result["text"], result
