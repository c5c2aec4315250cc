"""devhost's listening socket must be a TCP socket by proto, or asyncio leaves Nagle on."""

from __future__ import annotations

import socket

from devhost.host import listen


def test_listening_socket_declares_tcp_so_accepted_connections_get_nodelay() -> None:
    sock = listen("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
        client = socket.create_connection(sock.getsockname())
        sock.setblocking(True)
        accepted, _ = sock.accept()
        # asyncio's transport sets TCP_NODELAY only when this holds (see selector_events/_set_nodelay)
        assert accepted.proto == socket.IPPROTO_TCP
        accepted.close()
        client.close()
    finally:
        sock.close()
