"""moto's S3 in server mode, in its own process, on a loopback port.

Run as a script it serves until killed; `--single-thread` serializes requests, which makes
moto's check-then-act conditional writes atomic the way S3's are (needed by overlap tests).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from pathlib import Path


class MotoS3Server:
    def __init__(self, single_thread: bool = False, log_path: Path | None = None) -> None:
        # Imported here: the server process runs this file as a script, without scripts/ on
        # its path, and needs no port of its own.
        from scripts.kafka_broker import free_port

        self.port = free_port()
        self.single_thread = single_thread
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> MotoS3Server:
        command = [sys.executable, __file__, str(self.port)]
        if self.single_thread:
            command.append("--single-thread")
        output = self.log_path.open("ab") if self.log_path else subprocess.DEVNULL
        self._process = subprocess.Popen(command, stdout=output, stderr=output)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"moto server exited with {self._process.returncode}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("moto server did not start within 30 s")

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(10)

    def __enter__(self) -> MotoS3Server:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def _serve(port: int, single_thread: bool) -> None:
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    os.environ.setdefault("MOTO_PORT", str(port))
    app = DomainDispatcherApplication(create_backend_app)
    server = make_server(
        "127.0.0.1", port, app, threaded=not single_thread, request_handler=MotoRequestHandler
    )
    server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--single-thread", action="store_true")
    arguments = parser.parse_args()
    _serve(arguments.port, arguments.single_thread)
