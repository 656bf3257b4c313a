from smbselect.testing import ADMIN_PASSWORD


async def test_admin_logs_in_and_reads(client, world):
    admin = await client.as_user("admin", ADMIN_PASSWORD)
    data = await admin.data("{ me { username role } programs { code name jobRoles { code } } partners(search: \"equ\") { totalCount edges { node { name locations { name country } } } } }")
    assert data["me"] == {"username": "admin", "role": "ADMIN"}
    assert "SMB_SELECT" in [p["code"] for p in data["programs"]]
    assert data["partners"]["totalCount"] == 1
    assert data["partners"]["edges"][0]["node"]["name"] == "Equant"


async def test_a_client_that_disconnects_mid_request_is_not_a_server_error(app, caplog):
    """A request whose body never arrives (the client closed the connection) ends quietly:
    no answer to send, no traceback logged as an error."""
    import logging

    sent: list[dict] = []
    messages = [
        {"type": "http.request", "body": b'{"query": "{ me { id', "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> dict:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/graphql", "raw_path": b"/graphql", "query_string": b"",
        "root_path": "", "headers": [(b"content-type", b"application/json"), (b"host", b"test")],
        "client": ("127.0.0.1", 5000), "server": ("test", 80), "state": {},
    }
    with caplog.at_level(logging.INFO):
        await app(scope, receive, send)
    assert not any(m["type"] == "http.response.start" and m["status"] >= 500 for m in sent), sent
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("disconnected" in r.getMessage() for r in caplog.records)
