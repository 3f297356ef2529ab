"""`govlake trino start` refuses a Trino server on its port that another installation runs, instead of
registering this installation's tables in it."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from infra import trino
from infra.settings import settings


class _AnotherTrino(BaseHTTPRequestHandler):
    """Answers /v1/info as a started Trino does."""

    def do_GET(self) -> None:
        body = json.dumps({"nodeVersion": {"version": "476"}, "starting": False}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_a_server_of_another_installation_on_the_port_is_refused(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _AnotherTrino)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    s = settings().model_copy(
        update=dict(
            home=tmp_path,
            trino_host="127.0.0.1",
            trino_port=server.server_address[1],
            manage_trino=True,
        )
    )
    try:
        assert trino.is_running(s)
        with pytest.raises(trino.TrinoError, match=rf":{s.trino_port} but none runs from {tmp_path}"):
            trino.start(s)
    finally:
        server.shutdown()
