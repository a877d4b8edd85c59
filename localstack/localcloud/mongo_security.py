"""The local MongoDB asks for credentials over TLS, as a hosted one does.

At the first `make up` this makes, in the state folder (files mode 0600, folder 0700): a
self-signed CA, a server certificate for 127.0.0.1 signed by it, and a user with a random
password. SecantusDB provisions users the way mongod does: it is started once without
``--auth``, the user is created, and from then on it runs with ``--auth`` and TLS.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

USER = "slot-machine"
VALID_DAYS = "3650"


@dataclass(frozen=True)
class MongoSecrets:
    folder: Path

    @property
    def ca_file(self) -> Path:
        return self.folder / "ca.pem"

    @property
    def cert_file(self) -> Path:
        return self.folder / "server.pem"

    @property
    def key_file(self) -> Path:
        return self.folder / "server.key"

    @property
    def credentials_file(self) -> Path:
        return self.folder / "credentials.json"

    @property
    def provisioned_marker(self) -> Path:
        return self.folder / "provisioned"

    def password(self) -> str | None:
        try:
            return str(json.loads(self.credentials_file.read_text())["password"])
        except (FileNotFoundError, ValueError, KeyError):
            return None

    def tls_options(self) -> str:
        return f"tls=true&tlsCAFile={urllib.parse.quote(str(self.ca_file))}"

    def uri(self, port: int, with_credentials: bool = True) -> str:
        """How every client of ours connects: credentials (if made yet), TLS, the CA to trust."""
        password = self.password()
        if with_credentials and password:
            login = f"{urllib.parse.quote(USER)}:{urllib.parse.quote(password)}@"
            return f"mongodb://{login}127.0.0.1:{port}/?authSource=admin&{self.tls_options()}"
        return f"mongodb://127.0.0.1:{port}/?{self.tls_options()}"

    def server_arguments(self) -> list[str]:
        return [
            "--tls-cert-file", str(self.cert_file),
            "--tls-key-file", str(self.key_file),
            "--tls-ca-file", str(self.ca_file),
        ]  # fmt: skip

    def ensure_files(self) -> None:
        """The CA, the server certificate and the credentials, made once."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.folder.chmod(0o700)
        if not (self.ca_file.exists() and self.cert_file.exists() and self.key_file.exists()):
            self._make_certificates()
        if self.password() is None:
            self.credentials_file.write_text(
                json.dumps({"user": USER, "password": secrets.token_urlsafe(24)})
            )
        for path in self.folder.iterdir():
            path.chmod(0o600)

    def _make_certificates(self) -> None:
        ca_key = self.folder / "ca.key"
        request = self.folder / "server.csr"
        extensions = self.folder / "server.ext"
        extensions.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        for command in (
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", VALID_DAYS,
             "-subj", "/CN=slot-machine local CA", "-keyout", str(ca_key), "-out", str(self.ca_file)],
            ["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
             "-keyout", str(self.key_file), "-out", str(request)],
            ["x509", "-req", "-in", str(request), "-CA", str(self.ca_file), "-CAkey", str(ca_key),
             "-CAcreateserial", "-days", VALID_DAYS, "-extfile", str(extensions),
             "-out", str(self.cert_file)],
        ):  # fmt: skip
            subprocess.run(["openssl", *command], check=True, capture_output=True)
        request.unlink()
        extensions.unlink()

    def provision(self, command: list[str], port: int, log_path: Path, timeout: float = 30) -> None:
        """Creates the user on a server started without --auth for that, then stops it."""
        if self.provisioned_marker.exists():
            return
        from pymongo import MongoClient
        from pymongo.errors import OperationFailure, PyMongoError

        with open(log_path, "ab") as log:
            server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            client: MongoClient[dict[str, object]] = MongoClient(
                self.uri(port, with_credentials=False), serverSelectionTimeoutMS=int(timeout * 1000)
            )
            with client:
                try:
                    client.admin.command("createUser", USER, pwd=self.password(), roles=["root"])
                except OperationFailure as error:
                    if "already exists" not in str(error):
                        raise
        except PyMongoError as error:
            raise RuntimeError(f"could not create the MongoDB user: {error}; log {log_path}") from error
        finally:
            server.terminate()
            deadline = time.monotonic() + 10
            while server.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            if server.poll() is None:
                os.killpg(server.pid, 9)
                server.wait()
        self.provisioned_marker.write_text("the user exists in this data folder\n")
        self.provisioned_marker.chmod(0o600)
