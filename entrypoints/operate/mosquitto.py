"""A local Mosquitto broker with the gateway ACL, for tests, benchmarks and trying ``ems mqtt`` out.

Writes a config, a password file (hashed by ``mosquitto_passwd``) and the ACL below into a
directory, starts ``mosquitto`` on a loopback port and waits until it listens. The ACL is the
one the bridge relies on (:mod:`entrypoints.operate.mqtt_bridge`): user ``<gateway_id>`` may
publish only on its own telemetry topic and read only its own reply topic; the bridge's user
reads every telemetry topic and writes every reply topic.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from pathlib import Path


def acl(bridge_user: str, prefix: str = "ems") -> str:
    return (
        f"user {bridge_user}\n"
        f"topic read {prefix}/gateways/+/telemetry\n"
        f"topic write {prefix}/gateways/+/reply\n\n"
        "# every other user is a gateway, named by its gateway id\n"
        f"pattern write {prefix}/gateways/%u/telemetry\n"
        f"pattern read {prefix}/gateways/%u/reply\n"
    )


class Mosquitto:
    """``with Mosquitto(tmp, {"ems-bridge": "pw", "gw-a": "pw"}, port) as broker: ...``"""

    def __init__(self, directory: Path, users: dict[str, str], port: int, bridge_user: str = "ems-bridge") -> None:
        exe = shutil.which("mosquitto") or next(
            (p for p in ("/usr/sbin/mosquitto", "/usr/bin/mosquitto") if Path(p).exists()), None
        )
        if exe is None:
            raise RuntimeError("mosquitto is not installed (Debian: apt-get install mosquitto)")
        self.exe = exe
        self.dir = Path(directory)
        self.port = port
        self.users = users
        self.bridge_user = bridge_user
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 10.0) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        passwd, acl_file, conf = self.dir / "passwd", self.dir / "acl", self.dir / "mosquitto.conf"
        passwd.write_text("")
        for user, password in self.users.items():
            subprocess.run(["mosquitto_passwd", "-b", str(passwd), user, password], check=True, capture_output=True)
        acl_file.write_text(acl(self.bridge_user))
        conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous false\n"
            f"password_file {passwd}\n"
            f"acl_file {acl_file}\n"
            "persistence false\n"
            "max_inflight_messages 100\n"
            # started as root (CI), mosquitto would switch to user "mosquitto", who cannot read a private temp dir
            + (f"user {pwd.getpwuid(os.geteuid()).pw_name}\n" if os.geteuid() == 0 else "")
        )
        with open(self.dir / "log", "wb") as log:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen([self.exe, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"mosquitto did not start: {(self.dir / 'log').read_text()}") from None
                time.sleep(0.02)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None

    def __enter__(self) -> Mosquitto:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
