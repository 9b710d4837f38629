"""A TCP forwarder the test can cut: one node's road to a server that other nodes reach directly.

To cut ONE web node's connection to Redis while the other keeps working against the same data, that
node is given the proxy's address: ``cut()`` closes the listening socket and every forwarded
connection (the node's next call is refused, its breaker opens), ``restore()`` listens again on the
same port. Stopping or pausing the server itself would cut every node.

Why not a library: what is needed is ~50 lines of asyncio stream forwarding with a close-everything
switch, in this process, on a port chosen here. Toxiproxy (the usual tool) is a Go server with an HTTP
API to install and drive; pytest plugins that proxy TCP do not cut established connections on demand.
"""

import asyncio
import contextlib
import threading

from bench.stack import free_port

CHUNK = 65536


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.accepted = 0
        self.blackholed = False  # connections stay open and everything sent is dropped, both ways

    def url(self, scheme: str = "redis", path: str = "/0") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    # -- control, from the test's thread --------------------------------------------------------

    def start(self) -> "TcpProxy":
        self._thread.start()
        self.restore()
        return self

    def restore(self) -> None:
        """Listen (again) on the proxy's port."""
        asyncio.run_coroutine_threadsafe(self._listen(), self.loop).result(timeout=5)

    def cut(self) -> None:
        """Refuse new connections and close every forwarded one, both ways."""
        asyncio.run_coroutine_threadsafe(self._cut(), self.loop).result(timeout=5)

    def blackhole(self, on: bool = True) -> None:
        """Drop everything sent either way while ``on``, keeping the connections open."""
        self.blackholed = on

    def close(self) -> None:
        if self._thread.is_alive():
            self.cut()
            asyncio.run_coroutine_threadsafe(self._cancel_forwarding(), self.loop).result(timeout=5)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=5)
        self.loop.close()

    # -- the loop's side --------------------------------------------------------------------------

    async def _listen(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(self._forward, "127.0.0.1", self.port, reuse_address=True)

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()  # a reset, not a graceful close: the peer's next call fails at once
        self._writers.clear()

    async def _cancel_forwarding(self) -> None:
        tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _forward(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.transport.abort()
            return
        self._writers.update((client_writer, server_writer))
        await asyncio.gather(
            self._pipe(client_reader, server_writer, client_writer),
            self._pipe(server_reader, client_writer, server_writer),
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, other: asyncio.StreamWriter):
        try:
            while data := await reader.read(CHUNK):
                if self.blackholed:
                    continue  # a peer that accepts and never answers (a paused or partitioned server)
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            for end in (writer, other):
                self._writers.discard(end)
                with contextlib.suppress(Exception):
                    end.transport.abort()
