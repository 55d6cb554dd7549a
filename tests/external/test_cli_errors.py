"""What the `belay` binary says when something is wrong: a data directory that does not exist, a server it cannot
reach, a port already in use. Each is one clear sentence and a non-zero exit, never errno text.

    BELAY_BIN=.build/debug/belay python3 -m pytest -q tests/external/test_cli_errors.py
"""
import json
import os
import re
import socket
import subprocess

import requests

from conftest import belay_binary
from support import free_port


def run(*args, cwd=None, env=None, timeout=60):
    environment = {key: value for key, value in os.environ.items() if not key.startswith("BELAY_")}
    environment.update(env or {})
    return subprocess.run([belay_binary(), *args], capture_output=True, text=True, cwd=cwd, env=environment, timeout=timeout)


def log_lines(stderr):
    """The JSON log lines among stderr's lines."""
    lines = []
    for line in stderr.splitlines():
        try:
            lines.append(json.loads(line))
        except json.JSONDecodeError:
            pass
    return lines


def test_create_token_from_another_folder_refuses_the_missing_data_directory(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = run("admin", "create-token", "--role", "admin", cwd=elsewhere)
    assert result.returncode != 0
    assert str(elsewhere / "belay-data") in result.stderr, "the message names the absolute path"
    assert "--data" in result.stderr and "--create" in result.stderr, result.stderr
    assert "belay_" not in result.stdout, "no token is printed"
    assert not (elsewhere / "belay-data").exists(), "nothing is created"

    relative = run("admin", "create-token", "--role", "admin", "--data", "nope/data", cwd=elsewhere)
    assert relative.returncode != 0 and str(elsewhere / "nope" / "data") in relative.stderr, relative.stderr
    from_env = run("admin", "create-token", "--role", "admin", cwd=elsewhere, env={"BELAY_DATA": str(tmp_path / "missing")})
    assert from_env.returncode != 0 and str(tmp_path / "missing") in from_env.stderr, from_env.stderr
    assert not (tmp_path / "missing").exists()


def test_create_token_makes_a_new_data_directory_only_when_asked(tmp_path):
    data = tmp_path / "fresh" / "data"
    created = run("admin", "create-token", "--role", "admin", "--data", str(data), "--create")
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip().splitlines()[-1].startswith("belay_")
    assert data.is_dir()
    # Now that it exists, no --create is needed.
    again = run("admin", "create-token", "--role", "viewer", "--data", str(data))
    assert again.returncode == 0, again.stderr


def test_a_data_directory_that_is_a_file_is_refused_clearly(tmp_path):
    file = tmp_path / "data.txt"
    file.write_text("not a directory")
    result = run("admin", "create-token", "--role", "admin", "--data", str(file), "--create")
    assert result.returncode != 0
    assert str(file) in result.stderr and "not a data directory" in result.stderr, result.stderr


def test_the_token_from_create_token_works_with_the_server_on_that_directory(start_belay):
    belay = start_belay()
    _, secret = belay.create_token("responder", name="laptop")
    response = requests.get(belay.url + "/api/v1/incidents", headers={"Authorization": f"Bearer {secret}"}, timeout=10)
    assert response.status_code == 200, response.text


def test_an_unreachable_server_is_one_sentence_saying_what_to_do():
    url = f"http://127.0.0.1:{free_port()}"
    result = run("incident", "list", "--url", url, "--token", "belay_x")
    assert result.returncode == 1
    assert f"cannot reach Belay at {url}: connection refused" in result.stderr, result.stderr
    assert "belay serve" in result.stderr
    assert "errno" not in result.stderr and "error set" not in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_an_unknown_host_is_named():
    result = run("incident", "list", "--url", "http://no-such-host.invalid:8080", "--token", "belay_x")
    assert result.returncode == 1
    assert "no such host 'no-such-host.invalid'" in result.stderr, result.stderr
    assert "SocketAddressError" not in result.stderr and "DNS error" not in result.stderr, result.stderr


def test_a_file_that_cannot_be_read_is_named_with_its_absolute_path(tmp_path):
    result = run("subscriber", "import", "missing.csv", "--url", "http://127.0.0.1:1", "--token", "belay_x", cwd=tmp_path)
    assert result.returncode == 1
    assert f"{tmp_path / 'missing.csv'} does not exist" in result.stderr, result.stderr
    folder = run("monitor", "add", "--name", "cert", "--kind", "certificate_file", "--pem-file", str(tmp_path), "--token", "belay_x")
    assert folder.returncode != 0 and f"{tmp_path} is a directory, not a file" in folder.stderr, folder.stderr


def test_a_wrong_token_says_where_tokens_come_from(belay):
    result = run("incident", "list", "--url", belay.url, "--token", "belay_" + "A" * 43)
    assert result.returncode == 1
    assert "401" in result.stderr and "data directory" in result.stderr, result.stderr


def test_a_port_in_use_fails_clearly_without_claiming_to_serve(tmp_path):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("serve", "--port", str(port), "--data", str(tmp_path / "data"), timeout=120)
    assert result.returncode != 0
    assert f"port {port} is already in use" in result.stderr, result.stderr
    assert "--port" in result.stderr
    assert "errno" not in result.stderr and "bind(descriptor" not in result.stderr, result.stderr
    messages = [line.get("msg", "") for line in log_lines(result.stderr)]
    assert "serving" not in messages, f"logged 'serving' although nothing listens: {messages}"
    assert not any(message.startswith("Server started") for message in messages), messages


def test_serving_is_logged_after_the_listener_is_bound_with_the_real_port(belay):
    lines = log_lines(belay.log())
    messages = [line.get("msg", "") for line in lines]
    assert "serving" in messages, messages
    listening = next(i for i, message in enumerate(messages) if message.startswith("Server started and listening"))
    serving = messages.index("serving")
    assert serving > listening, messages
    port = re.search(r":(\d+)$", belay.url).group(1)
    assert lines[serving]["url"].endswith(f":{port}"), lines[serving]


def test_version_prints_the_one_version_constant():
    result = run("--version")
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?", result.stdout.strip()), result.stdout
    source = open(os.path.join(os.path.dirname(__file__), "..", "..", "Sources", "belay", "Version.swift")).read()
    assert f'"{result.stdout.strip()}"' in source
