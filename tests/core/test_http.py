import pytest

from auditor.http import HttpClient, RequestFailed, UnsafeRequest
from auditor.service import free_port
from tests.stub_server import StubServer, echo_headers, slow


def test_body_is_capped_and_marked_truncated(stub: StubServer):
    stub.routes["/big"] = (200, {"Content-Type": "text/plain"}, "x" * 100_000)
    with HttpClient(stub.url, max_bytes=1000) as http:
        response = http.get("/big")
    assert response.status == 200
    assert len(response.body) == 1000 and response.truncated


def test_redirects_are_bounded(stub: StubServer):
    stub.routes["/loop"] = (302, {"Location": "/loop"}, "")
    with HttpClient(stub.url, max_redirects=3) as http, pytest.raises(RequestFailed, match="too many redirects"):
        http.get("/loop")


def test_read_only_client_refuses_writes_before_sending(stub: StubServer):
    with HttpClient(stub.url, read_only=True) as http:
        with pytest.raises(UnsafeRequest, match="POST /things refused"):
            http.request("POST", "/things")
        assert http.request("OPTIONS", "/").status == 404
    assert [m for m, _, _ in stub.requests] == ["OPTIONS"]


def test_anonymous_probe_drops_supplied_headers(stub: StubServer):
    stub.routes["/echo"] = echo_headers
    with HttpClient(stub.url, headers={"Authorization": "Bearer s3cret-token"}) as http:
        assert "s3cret-token" in http.get("/echo").text
        anonymous = http.get("/echo", auth=False).text
    assert "s3cret-token" not in anonymous and "backend-auditor" in anonymous


def test_timeouts_and_refused_connections_are_request_failures(stub: StubServer):
    stub.routes["/slow"] = slow(2.0, (200, {}, "late"))
    with HttpClient(stub.url, timeout_s=0.3) as http, pytest.raises(RequestFailed, match="timed out"):
        http.get("/slow")
    with HttpClient(f"http://127.0.0.1:{free_port()}") as http, pytest.raises(RequestFailed, match="refused"):
        http.get("/")


def test_evidence_masks_sensitive_response_headers(stub: StubServer):
    stub.routes["/login"] = (200, {"Set-Cookie": "session=abcdef123", "Content-Type": "text/plain"}, "hello")
    with HttpClient(stub.url) as http:
        evidence = http.get("/login").evidence()
    assert "abcdef123" not in evidence and "set-cookie: ***" in evidence.lower() and "hello" in evidence


def test_a_body_that_drips_is_cut_at_the_request_timeout():
    import socket
    import threading
    import time

    from auditor.http import RequestFailed

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()

    def drip() -> None:
        conn, _ = server.accept()
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
        try:
            for _ in range(40):
                conn.sendall(b"x")
                time.sleep(0.2)
        except OSError:
            pass
        conn.close()

    threading.Thread(target=drip, daemon=True).start()
    with HttpClient(f"http://127.0.0.1:{server.getsockname()[1]}", timeout_s=1.0) as http:
        # each read arrives within httpx's per-read timeout; only a whole-request limit ends it
        with pytest.raises(RequestFailed, match="body still arriving after 1 s"):
            http.get("/")
    server.close()


def test_supplied_headers_never_follow_a_redirect_to_another_origin():
    with StubServer() as other, StubServer() as target:
        target.routes["/go"] = (302, {"Location": f"{other.url}/landed"}, "")
        other.routes["/landed"] = (200, {}, "ok")
        with HttpClient(target.url, headers={"X-Api-Key": "sekrit-key-1234"}) as http:
            assert http.get("/go").status == 200
        assert target.requests[0][2].get("X-Api-Key") == "sekrit-key-1234"
        landed = other.requests[0][2]
        assert "X-Api-Key" not in landed and "x-api-key" not in {k.lower() for k in landed}
