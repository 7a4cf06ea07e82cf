"""What the exporter's security tests run against: a Pushgateway with a web config (TLS,
basic auth, client certificates), Pushgateways that accept and never answer, the credentials,
and the one clean failure a refused push must leave in Locust's log."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from localstack import free_port, terminate
from prometheus_client.parser import text_string_to_metric_families
from support import LocustRun, wait_until

USER, PASSWORD, WRONG_PASSWORD = "locust", "s3cret-pw", "not-the-pw-7f3e"
PUSH_FAILED = "push to the Pushgateway failed"


# A Pushgateway that never answers. "silent" accepts and then reads nothing and sends nothing;
# "trickle" sends the start of a response a byte at a time, so no socket read ever times out.
HANG_SERVER = """
import os, socket, sys, threading, time
mode, port_file, log_file = sys.argv[1:4]
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(64)
with open(port_file + ".tmp", "w") as fh:
    fh.write(str(server.getsockname()[1]))
os.rename(port_file + ".tmp", port_file)
held = []

def trickle(conn):
    conn.sendall(b"HTTP/1.1 200 OK\\r\\nX-Trickle: ")
    while True:
        time.sleep(0.2)
        conn.sendall(b"a")

while True:
    conn, _ = server.accept()
    held.append(conn)
    with open(log_file, "a") as fh:
        fh.write("accepted\\n")
    if mode == "trickle":
        threading.Thread(target=trickle, args=(conn,), daemon=True).start()
"""


# -- certificates, password hash, Pushgateways ---------------------------------------------------


def bcrypt_hash(password: str) -> str:
    """A bcrypt hash as the Pushgateway's ``basic_auth_users`` wants; cost 4, the minimum, as
    the Pushgateway checks it on every request."""
    try:
        bcrypt: Any = importlib.import_module("bcrypt")
        return str(bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode())
    except ImportError:
        pass
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            crypt: Any = importlib.import_module("crypt")
        except ImportError:
            pytest.skip("neither the bcrypt module nor crypt is available to hash a password")
    if crypt.METHOD_BLOWFISH not in crypt.methods:
        pytest.skip("crypt has no Blowfish (bcrypt) method here; install the bcrypt module")
    return str(crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))


def session() -> requests.Session:
    # Not from the environment: requests lets REQUESTS_CA_BUNDLE override a session's own
    # ``verify`` (requests#3829), and a proxy has no business with loopback.
    s = requests.Session()
    s.trust_env = False
    return s


@dataclass
class Gateway:
    """A Pushgateway with a web config, and a requests session that passes its checks."""

    url: str
    proc: subprocess.Popen[bytes]
    session: requests.Session

    def samples(self, metric: str, run_id: str) -> dict[tuple[str, str], float]:
        """``metric``'s samples of the group ``run_id``, keyed by (method, name)."""
        text = self.session.get(f"{self.url}/metrics", timeout=5).text
        out: dict[tuple[str, str], float] = {}
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                if s.name == metric and s.labels.get("run_id") == run_id:
                    out[(s.labels.get("method", ""), s.labels.get("name", ""))] = s.value
        return out

    def groups(self) -> list[dict[str, str]]:
        data = self.session.get(f"{self.url}/api/v1/metrics", timeout=5).json()["data"]
        return [g["labels"] for g in data]

    def has_group(self, run_id: str) -> bool:
        return any(g.get("run_id") == run_id for g in self.groups())

    def stop(self) -> None:
        terminate(self.proc, timeout=10)


def start_gateway(workdir: Path, web_config: str, session: requests.Session) -> Gateway:
    binary = shutil.which("prometheus-pushgateway")
    if binary is None:
        pytest.skip("prometheus-pushgateway is not installed")
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "web.yml").write_text(web_config)
    port = free_port()
    log = (workdir / "pushgateway.log").open("wb")
    args = [
        binary,
        f"--web.listen-address=127.0.0.1:{port}",
        f"--web.config.file={workdir}/web.yml",
        # Debian's build defaults to /var/lib/prometheus/pushgateway.data, shared by every
        # Pushgateway on the machine: start empty and write nothing there.
        "--persistence.file=",
    ]
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    gateway = Gateway(url=f"https://127.0.0.1:{port}", proc=proc, session=session)
    try:
        wait_until(lambda: session.get(f"{gateway.url}/-/ready", timeout=1).ok, 20, "Pushgateway")
        assert gateway.groups() == [], "a new Pushgateway must start empty"
    except (TimeoutError, AssertionError) as exc:
        gateway.stop()
        raise AssertionError(f"{exc}\n{(workdir / 'pushgateway.log').read_text()}") from None
    return gateway


@dataclass
class HangServer:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def accepted(self) -> int:
        return self.log.read_text().count("accepted") if self.log.exists() else 0


def start_hang_server(workdir: Path, mode: str) -> HangServer:
    workdir.mkdir(parents=True, exist_ok=True)
    script, port_file, log = workdir / "hang.py", workdir / "port", workdir / "accepted.log"
    script.write_text(HANG_SERVER)
    proc = subprocess.Popen([sys.executable, str(script), mode, str(port_file), str(log)])
    try:
        wait_until(port_file.exists, 10, f"the {mode} hang server")
    except TimeoutError:
        proc.kill()
        proc.wait()
        raise
    return HangServer(proc=proc, port=int(port_file.read_text()), log=log)


# -- what a refused push leaves in Locust's log ---------------------------------------------------


def warnings_in(run: LocustRun) -> list[str]:
    return [line for line in run.output.splitlines() if "/WARNING/" in line]


def assert_clean_failure(run: LocustRun, *needles: str) -> str:
    """Locust's normal exit code, exactly one push warning (rate-limited) naming the cause, and
    nothing else going wrong; returns that warning."""
    assert run.returncode == 0, run.output  # the synthetic requests never fail
    assert "Traceback" not in run.output and "Uncaught exception" not in run.output, run.output
    pushes = [w for w in warnings_in(run) if PUSH_FAILED in w]
    assert len(pushes) == 1, run.output
    for needle in needles:
        assert needle in pushes[0], pushes[0]
    # Never accepted, so there is nothing to delete and no linger to wait for.
    assert "delete of the group failed" not in run.output
    assert "--prometheus-linger" not in run.output
    return pushes[0]
