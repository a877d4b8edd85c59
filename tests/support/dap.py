"""A minimal Debug Adapter Protocol client: what an IDE does to attach to debugpy, enough to set
a breakpoint, see it hit and continue."""

from __future__ import annotations

import contextlib
import json
import socket
import time
from typing import Any


class DebugClient:
    def __init__(self, port: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:  # the runtime's debugpy listens once the process has started
            try:
                self.sock = socket.create_connection(("127.0.0.1", port), timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.sock.settimeout(timeout)
        self.buffer = b""
        self.seq = 0
        self.events: list[dict[str, Any]] = []

    def send(self, command: str, **arguments: Any) -> int:
        self.seq += 1
        body = json.dumps({"seq": self.seq, "type": "request", "command": command, "arguments": arguments})
        self.sock.sendall(f"Content-Length: {len(body)}\r\n\r\n{body}".encode())
        return self.seq

    def _read(self) -> dict[str, Any]:
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self.sock.recv(65536)
        header, _, rest = self.buffer.partition(b"\r\n\r\n")
        length = int(header.split(b":")[1])
        while len(rest) < length:
            rest += self.sock.recv(65536)
        self.buffer = rest[length:]
        message: dict[str, Any] = json.loads(rest[:length])
        return message

    def wait_for(self, kind: str, name: str, timeout: float = 30.0) -> dict[str, Any]:
        """The next event ``name`` (kind "event") or response to command ``name``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = self._read()
            key = "event" if message["type"] == "event" else "command"
            if message["type"] == kind and message.get(key) == name:
                return message
        raise TimeoutError(f"no {kind} {name} within {timeout} s")

    def attach_with_breakpoint(self, path: str, line: int) -> None:
        self.send("initialize", adapterID="debugpy", clientID="test", pathFormat="path", linesStartAt1=True)
        self.wait_for("response", "initialize")
        self.send("attach", justMyCode=False)
        self.wait_for("event", "initialized")
        self.send("setBreakpoints", source={"path": path}, breakpoints=[{"line": line}])
        self.wait_for("response", "setBreakpoints")
        self.send("configurationDone")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.send("disconnect", terminateDebuggee=False)
        self.sock.close()
