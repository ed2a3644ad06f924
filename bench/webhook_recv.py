#!/usr/bin/python3
"""Keep-alive HTTP/1.1 receiver for the subscriber benchmark.

  webhook_recv.py [--port 0]

Answers 200 with an empty body to every POST (any path) and counts them;
GET /count answers the count as text. Prints "webhook_recv: ready port=N"
on stderr once listening on 127.0.0.1. asyncio, one process, no threads:
it parses just enough HTTP (request line, Content-Length, chunked is not
needed by libcurl for a known-size body) to stay out of the way.
"""
import argparse
import asyncio
import signal
import sys

COUNT = 0
OK = b'HTTP/1.1 200 OK\r\nContent-Length: 0\r\nContent-Type: text/plain\r\n\r\n'


class Conn(asyncio.Protocol):
    def connection_made(self, transport):
        self.t = transport
        self.buf = b''

    def data_received(self, data):
        global COUNT
        self.buf += data
        while True:
            end = self.buf.find(b'\r\n\r\n')
            if end < 0:
                return
            head = self.buf[:end].decode('latin-1')
            length = 0
            for line in head.split('\r\n')[1:]:
                k, _, v = line.partition(':')
                if k.strip().lower() == 'content-length':
                    length = int(v.strip() or 0)
            if len(self.buf) < end + 4 + length:
                return
            self.buf = self.buf[end + 4 + length:]
            if head.startswith('GET /count'):
                body = str(COUNT).encode()
                self.t.write(b'HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s'
                             % (len(body), body))
            else:
                COUNT += 1
                self.t.write(OK)


async def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--port', type=int, default=0)
    a = ap.parse_args()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Conn, '127.0.0.1', a.port)
    port = server.sockets[0].getsockname()[1]
    print(f'webhook_recv: ready port={port}', file=sys.stderr, flush=True)
    stop = loop.create_future()
    for s in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(s, lambda: stop.done() or stop.set_result(None))
    await stop
    server.close()


if __name__ == '__main__':
    asyncio.run(main())
