#!/usr/bin/python3
"""A strict, deliberately misbehaving HTTP/1.1 upstream for Portico's integration tests.

Raw sockets, one thread per connection. Requests are parsed strictly (RFC 9110/9112):
anything the upstream cannot parse is answered with 400, closes the connection and is
counted as "malformed" in /stats, because nothing malformed may reach an upstream.

Endpoints (the path without its query string selects them; HEAD works on every path):
  /echo[/...]               JSON describing the request (also the default for unknown paths)
  /status/<code>            that status
  /delay/<ms>               waits, then 200
  /bytes/<n>                n bytes of pattern_bytes(), Content-Length, written 64 KiB at a time
  /chunked/<count>/<size>   count chunks of size bytes of pattern_bytes()
  /reset                    closes the connection without a response
  /reset-mid-body[/D/S]     Content-Length D (1000), S bytes (10), then closes
  /overlong[/D/S]           Content-Length D (1000), then S bytes (1010) in one go; stays open
  /close                    200 with Connection: close, then closes
  /big-header/<n>           200 with an x-big header of n bytes, written 64 KiB at a time
  /early/<code>             that status right after the head, before reading any body; closes
  /early-reset/<code>       after 200 ms, that status, then closes at once with the body unread
                            (a reset right behind the answer)
  /stall/<ms>               reads the head only, waits (a slow upstream not reading the body),
                            then answers 200 with Connection: close and closes
  /informational            103 Early Hints (with hop-by-hop fields), then 200
  /status-line/<code>       "HTTP/1.1 <code> X" (any text, e.g. 20), Content-Length 2, "ok"
  /te/<codings>             Transfer-Encoding: <codings> (commas as sent), body "2 ok 0" chunked,
                            then closes
  /reset-unframed[/S]       200 with neither length nor chunked, S bytes (10), then a reset (RST)
  /chunked-reset[/S]        200 chunked, one chunk of S bytes (10), then a reset (RST)
  /keep-alive/<s>           200 with "keep-alive: timeout=<s>, max=100" (the connection stays
                            open: the test sees whether the proxy closes it first)
  /connection-names/<names> 200 with "Connection: <names>" (commas as sent) and each name as a
                            field with the value "upstream": they are hop-by-hop, and a proxy
                            must drop them, but not fields of the same names it adds itself
  /drop-next[/rst]          200; the next request on this connection gets no answer: the
                            connection closes (or resets) once its head is read (counted as
                            "dropped", not as a request)
  /stats                    JSON counters of this upstream (not counted as a request)

Every response carries x-upstream (--name) and x-upstream-conn (the connection's number).
Prints "READY <port>" once listening on 127.0.0.1 (--port 0 picks a free port).
"""

import argparse
import hashlib
import http
import json
import re
import socket
import struct
import sys
import threading
import time

PATTERN = bytes(range(256))
WRITE_SIZE = 64 * 1024
BLOCK = PATTERN * (WRITE_SIZE // len(PATTERN))
RECV_SIZE = 64 * 1024
MAX_HEAD_BYTES = 256 * 1024
MAX_HEADERS = 500
MAX_DELAY_MS = 60_000
MAX_CHUNK_SIZE_DIGITS = 15
KEEP_MALFORMED_REASONS = 20

TOKEN_RE = re.compile(rb"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
VERSION_RE = re.compile(rb"^HTTP/1\.[01]$")
CTL_IN_VALUE_RE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
TARGET_RE = re.compile(rb"^[\x21-\x22\x24-\x7e]+$")  # visible ASCII except '#'
HEX_RE = re.compile(rb"^[0-9A-Fa-f]{1,%d}$" % MAX_CHUNK_SIZE_DIGITS)
# Host = uri-host [":" port] (RFC 9110 7.2, RFC 3986 3.2.2): reg-name or IP literal; empty is
# allowed (a request without authority).
HOST_RE = re.compile(r"^(?:(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})+|"
                     r"\[(?:[0-9A-Fa-f:.]+|v[0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+)\])"
                     r"(?::[0-9]{0,5})?$|^$")


def pattern_bytes(offset, length):
    """The deterministic body content: byte i of a body is i % 256."""
    start = offset % len(PATTERN)
    repeats = (start + length) // len(PATTERN) + 1
    return (PATTERN * repeats)[start:start + length]


def pattern_sha256(length):
    """sha256 hex digest of the first `length` pattern bytes, computed in 64 KiB steps."""
    digest = hashlib.sha256()
    full, rest = divmod(length, WRITE_SIZE)
    for _ in range(full):
        digest.update(BLOCK)
    digest.update(BLOCK[:rest])
    return digest.hexdigest()


class Malformed(Exception):
    """The peer sent something that is not valid HTTP/1.1."""


class PeerClosed(Exception):
    """The peer closed the connection (before or in the middle of a request)."""

    def __init__(self, mid_request):
        super().__init__("peer closed" + (" mid-request" if mid_request else ""))
        self.mid_request = mid_request


class Stats:
    """Counters shared by all connections; /stats returns a snapshot."""

    def __init__(self, name):
        self._lock = threading.Lock()
        self.name = name
        self.connections_accepted = 0
        self.active_connections = 0
        self.requests = 0
        self.in_flight = 0
        self.malformed = 0
        self.malformed_reasons = []
        self.incomplete = 0
        self.dropped = 0

    def add(self, counter, delta=1):
        with self._lock:
            value = getattr(self, counter) + delta
            setattr(self, counter, value)
            return value

    def record_malformed(self, reason):
        with self._lock:
            self.malformed += 1
            self.malformed_reasons.append(reason)
            del self.malformed_reasons[:-KEEP_MALFORMED_REASONS]

    def snapshot(self):
        with self._lock:
            return {
                "name": self.name,
                "connections_accepted": self.connections_accepted,
                "active_connections": self.active_connections,
                "requests": self.requests,
                "in_flight": self.in_flight,
                "malformed": self.malformed,
                "malformed_reasons": list(self.malformed_reasons),
                "incomplete": self.incomplete,
                "dropped": self.dropped,
            }


class Reader:
    """Buffered reads from a socket; keeps leftover bytes for the next pipelined request."""

    def __init__(self, sock):
        self.sock = sock
        self.buffer = b""

    def _fill(self, mid_request):
        data = self.sock.recv(RECV_SIZE)
        if not data:
            raise PeerClosed(mid_request)
        self.buffer += data

    def read_line(self, limit, mid_request=True):
        """One CRLF-terminated line without its CRLF. Bare LF or CR is malformed."""
        while True:
            newline = self.buffer.find(b"\n")
            if newline >= 0:
                break
            if len(self.buffer) > limit:
                raise Malformed("line longer than %d bytes" % limit)
            self._fill(mid_request or bool(self.buffer))
        if newline > limit:
            raise Malformed("line longer than %d bytes" % limit)
        line, self.buffer = self.buffer[:newline + 1], self.buffer[newline + 1:]
        if not line.endswith(b"\r\n"):
            raise Malformed("bare LF line ending in %r" % line[:80])
        line = line[:-2]
        if b"\r" in line:
            raise Malformed("bare CR in %r" % line[:80])
        return line

    def read_some(self, limit):
        if not self.buffer:
            self._fill(True)
        data, self.buffer = self.buffer[:limit], self.buffer[limit:]
        return data

    def read_exact(self, length):
        parts = []
        while length:
            data = self.read_some(length)
            parts.append(data)
            length -= len(data)
        return b"".join(parts)


class Request:
    def __init__(self, method, target, version, headers):
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers  # list of (name, value) as str, names as sent
        self.path = target.split("?", 1)[0]
        self.body_bytes = 0
        self.body_digest = hashlib.sha256()

    def header_values(self, name):
        return [value for key, value in self.headers if key.lower() == name]

    def header(self, name):
        values = self.header_values(name)
        return values[0] if values else None

    def has_token(self, name, token):
        tokens = (t.strip().lower() for v in self.header_values(name) for t in v.split(","))
        return token in tokens

    def wants_close(self):
        if self.has_token("connection", "close"):
            return True
        return self.version == "HTTP/1.0" and not self.has_token("connection", "keep-alive")


def parse_request_line(line):
    parts = line.split(b" ")
    if len(parts) != 3:
        raise Malformed("request line is not 'method SP target SP version': %r" % line[:200])
    method, target, version = parts
    if not TOKEN_RE.match(method):
        raise Malformed("invalid method %r" % method[:80])
    if not TARGET_RE.match(target):
        raise Malformed("invalid request target %r" % target[:200])
    if not (target.startswith(b"/") or target == b"*" or target.startswith(b"http://")):
        raise Malformed("request target in unexpected form: %r" % target[:200])
    if not VERSION_RE.match(version):
        raise Malformed("invalid HTTP version %r" % version[:80])
    return method.decode(), target.decode(), version.decode()


def parse_field_line(line):
    """A header or trailer line: token ':' OWS value OWS, value without control characters."""
    if line[:1] in (b" ", b"\t"):
        raise Malformed("obs-fold (line starts with whitespace): %r" % line[:80])
    name, colon, value = line.partition(b":")
    if not colon or not TOKEN_RE.match(name):
        raise Malformed("invalid header name in %r" % line[:80])
    value = value.strip(b" \t")
    if CTL_IN_VALUE_RE.search(value):
        raise Malformed("control character in value of %r" % name[:80])
    return name.decode("latin-1"), value.decode("latin-1")


def read_fields(reader, head_budget):
    """Header (or trailer) lines up to the empty line."""
    fields = []
    while True:
        line = reader.read_line(head_budget)
        head_budget -= len(line) + 2
        if head_budget < 0:
            raise Malformed("header section over %d bytes" % MAX_HEAD_BYTES)
        if not line:
            return fields
        fields.append(parse_field_line(line))
        if len(fields) > MAX_HEADERS:
            raise Malformed("more than %d header lines" % MAX_HEADERS)


def read_request_head(reader):
    line = reader.read_line(MAX_HEAD_BYTES, mid_request=False)
    if not line:
        raise Malformed("empty line before the request line")
    method, target, version = parse_request_line(line)
    headers = read_fields(reader, MAX_HEAD_BYTES - len(line))
    request = Request(method, target, version, headers)
    check_host(request)
    return request


def check_host(request):
    hosts = request.header_values("host")
    if len(hosts) > 1:
        raise Malformed("%d Host headers" % len(hosts))
    if request.version == "HTTP/1.1" and not hosts:
        raise Malformed("HTTP/1.1 request without Host")
    if hosts and not HOST_RE.match(hosts[0]):
        raise Malformed("Host %r is not an authority" % hosts[0][:80])


def body_framing(request):
    """("chunked", None), ("length", n) or ("none", 0), rejecting ambiguous framing."""
    lengths = request.header_values("content-length")
    codings = [c.strip().lower() for v in request.header_values("transfer-encoding")
               for c in v.split(",")]
    if codings and lengths:
        raise Malformed("both Transfer-Encoding and Content-Length")
    if codings:
        if request.version == "HTTP/1.0":
            raise Malformed("Transfer-Encoding in an HTTP/1.0 request")
        if codings[-1] != "chunked" or codings.count("chunked") != 1:
            raise Malformed("Transfer-Encoding %r does not end in chunked" % codings)
        return "chunked", None
    if len(lengths) > 1:
        raise Malformed("%d Content-Length headers" % len(lengths))
    if lengths:
        if not re.fullmatch(r"[0-9]{1,18}", lengths[0]):
            raise Malformed("invalid Content-Length %r" % lengths[0])
        return "length", int(lengths[0])
    return "none", 0


def iter_length_body(reader, length):
    while length:
        data = reader.read_some(min(length, RECV_SIZE))
        length -= len(data)
        yield data


def iter_chunked_body(reader):
    while True:
        line = reader.read_line(1024)
        size_text, _, extension = line.partition(b";")
        if not HEX_RE.match(size_text) or CTL_IN_VALUE_RE.search(extension):
            raise Malformed("invalid chunk size line %r" % line[:80])
        size = int(size_text, 16)
        if size == 0:
            read_fields(reader, MAX_HEAD_BYTES)  # trailers
            return
        yield from iter_length_body(reader, size)
        if reader.read_exact(2) != b"\r\n":
            raise Malformed("chunk data not followed by CRLF")


def read_body(reader, request, framing):
    """Streams the body into the request's byte count and sha256; nothing is kept."""
    kind, length = framing
    chunks = iter_chunked_body(reader) if kind == "chunked" else iter_length_body(reader, length)
    for data in chunks:
        request.body_bytes += len(data)
        request.body_digest.update(data)


def reason_phrase(status):
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


class Connection:
    """One accepted connection: reads requests in order and answers each in turn."""

    def __init__(self, server, sock, number):
        self.server = server
        self.sock = sock
        self.number = number
        self.reader = Reader(sock)
        self.close_after_response = False
        self.drop_next = None  # None, "fin" or "rst": how to drop the next request

    # -- writing -------------------------------------------------------------------------

    def send_head(self, status, headers=(), length=None, chunked=False, body=b""):
        """Sends the status line and headers, and `body` in the same write."""
        lines = ["HTTP/1.1 %d %s" % (status, reason_phrase(status)),
                 "x-upstream: %s" % self.server.name,
                 "x-upstream-conn: %d" % self.number]
        lines += ["%s: %s" % pair for pair in headers]
        if length is not None:
            lines.append("content-length: %d" % length)
        if chunked:
            lines.append("transfer-encoding: chunked")
        if self.close_after_response:
            lines.append("connection: close")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)

    def respond(self, request, status, body=b"", headers=()):
        no_body = status in (204, 304)
        sent_body = b"" if no_body or request.method == "HEAD" else body
        self.send_head(status, headers, None if no_body else len(body), body=sent_body)

    def respond_text(self, request, status, text, headers=()):
        self.respond(request, status, text.encode(),
                     [("content-type", "text/plain")] + list(headers))

    def respond_json(self, request, document):
        body = (json.dumps(document, indent=1) + "\n").encode()
        self.respond(request, 200, body, [("content-type", "application/json")])

    # -- endpoints -----------------------------------------------------------------------

    def handle_echo(self, request, _args):
        self.respond_json(request, {
            "upstream": self.server.name,
            "connection": self.number,
            "method": request.method,
            "path": request.target,
            "version": request.version,
            "headers": [[name, value] for name, value in request.headers],
            "body_bytes": request.body_bytes,
            "body_sha256": request.body_digest.hexdigest(),
        })

    def handle_status(self, request, args):
        code = int(args[0]) if args and args[0].isdigit() else 0
        if not 200 <= code <= 599:
            self.respond_text(request, 400, "status must be 200..599\n")
            return
        self.respond_text(request, code, "status %d\n" % code)

    def handle_delay(self, request, args):
        delay_ms = int(args[0]) if args and args[0].isdigit() else 0
        time.sleep(min(delay_ms, MAX_DELAY_MS) / 1000)
        self.respond_text(request, 200, "delayed %d ms\n" % delay_ms)

    def handle_bytes(self, request, args):
        length = int(args[0]) if args and args[0].isdigit() else 0
        small = length <= WRITE_SIZE and request.method != "HEAD"
        self.send_head(200, [("content-type", "application/octet-stream")], length,
                       body=BLOCK[:length] if small else b"")
        if request.method == "HEAD" or small:
            return
        full, rest = divmod(length, WRITE_SIZE)
        for _ in range(full):
            self.sock.sendall(BLOCK)
        self.sock.sendall(BLOCK[:rest])

    def handle_chunked(self, request, args):
        numbers = [int(a) for a in args[:2] if a.isdigit()]
        count, size = numbers if len(numbers) == 2 else (0, 0)
        self.send_head(200, [("content-type", "application/octet-stream")], chunked=True)
        if request.method == "HEAD":
            return
        for index in range(count):
            chunk = pattern_bytes(index * size, size)
            self.sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunk else b"")
        self.sock.sendall(b"0\r\n\r\n")

    def handle_reset(self, _request, _args):
        self.close_after_response = True

    def handle_reset_mid_body(self, _request, args):
        numbers = [int(a) for a in args[:2] if a.isdigit()]
        declared, sent = numbers if len(numbers) == 2 else (1000, 10)
        self.send_head(200, [("content-type", "application/octet-stream")], declared)
        self.sock.sendall(pattern_bytes(0, min(sent, declared)))
        self.close_after_response = True

    def handle_overlong(self, request, args):
        numbers = [int(a) for a in args[:2] if a.isdigit()]
        declared, sent = numbers if len(numbers) == 2 else (1000, 1010)
        self.send_head(200, [("content-type", "application/octet-stream")], declared)
        self.sock.sendall(pattern_bytes(0, sent))

    def handle_big_header(self, request, args):
        size = int(args[0]) if args and args[0].isdigit() else 0
        self.sock.sendall(b"HTTP/1.1 200 OK\r\nx-big: ")
        while size > 0:  # the proxy may close on us mid-way: the write then fails (counted)
            n = min(size, WRITE_SIZE)
            self.sock.sendall(b"a" * n)
            size -= n
        self.sock.sendall(b"\r\ncontent-length: 0\r\n\r\n")

    def handle_early(self, request, args):
        code = int(args[0]) if args and args[0].isdigit() else 413
        self.close_after_response = True
        self.respond_text(request, code, "refused before reading the body\n")
        # Half-close and drain: closing with unread bytes would reset the response away.
        try:
            self.sock.shutdown(socket.SHUT_WR)
            while self.sock.recv(RECV_SIZE):
                pass
        except OSError:
            pass

    def handle_early_reset(self, request, args):
        code = int(args[0]) if args and args[0].isdigit() else 413
        self.close_after_response = True
        time.sleep(0.2)  # the proxy's upload fills the socket buffers meanwhile
        self.respond_text(request, code, "refused before reading the body\n")
        # Closed at once with the body unread: the kernel sends a reset right behind the
        # answer, as servers that do not drain do.
        self.sock.close()

    def handle_stall(self, request, args):
        delay_ms = min(int(args[0]) if args and args[0].isdigit() else 1000, MAX_DELAY_MS)
        time.sleep(delay_ms / 1000)
        self.handle_early(request, ["200"])

    def handle_close(self, request, _args):
        self.close_after_response = True
        self.respond_text(request, 200, "closing\n")

    def handle_informational(self, request, _args):
        # With hop-by-hop fields, which a proxy must not pass on (RFC 9110 7.6.1).
        self.sock.sendall(b"HTTP/1.1 103 Early Hints\r\n"
                          b"link: </style.css>; rel=preload; as=style\r\n"
                          b"connection: x-hop\r\nx-hop: secret\r\nkeep-alive: timeout=5\r\n\r\n")
        self.respond_text(request, 200, "after early hints\n")

    def handle_status_line(self, request, args):
        code = args[0].encode() if args else b"200"
        self.sock.sendall(b"HTTP/1.1 %s X\r\nx-upstream: %s\r\ncontent-length: 2\r\n\r\nok"
                          % (code, self.server.name.encode()))

    def handle_te(self, _request, args):
        codings = ",".join(args) or "chunked"
        self.close_after_response = True
        self.sock.sendall(b"HTTP/1.1 200 OK\r\nx-upstream: %s\r\ntransfer-encoding: %s\r\n"
                          b"connection: close\r\n\r\n2\r\nok\r\n0\r\n\r\n"
                          % (self.server.name.encode(), codings.encode()))

    def handle_chunked_reset(self, _request, args):
        sent = int(args[0]) if args and args[0].isdigit() else 10
        self.close_after_response = True
        self.send_head(200, [("content-type", "application/octet-stream")], chunked=True,
                       body=b"%x\r\n%s\r\n" % (sent, pattern_bytes(0, sent)))
        time.sleep(0.1)  # the head and chunk go out first; then RST, no last chunk
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    def handle_reset_unframed(self, _request, args):
        sent = int(args[0]) if args and args[0].isdigit() else 10
        self.close_after_response = True
        self.sock.sendall(b"HTTP/1.1 200 OK\r\nx-upstream: %s\r\nconnection: close\r\n\r\n"
                          % self.server.name.encode() + pattern_bytes(0, sent))
        time.sleep(0.1)  # the head and bytes go out first; then RST instead of FIN
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    def handle_keep_alive(self, request, args):
        seconds = int(args[0]) if args and args[0].isdigit() else 5
        self.respond_text(request, 200, "keep-alive timeout %d\n" % seconds,
                          [("keep-alive", "timeout=%d, max=100" % seconds)])

    def handle_connection_names(self, request, args):
        names = [n for n in (args[0].split(",") if args else []) if TOKEN_RE.match(n.encode())]
        self.respond_text(request, 200, "connection names\n",
                          [("connection", ",".join(names))] + [(n, "upstream") for n in names])

    def handle_drop_next(self, request, args):
        # Answers, then closes on the next request of this connection without a byte of reply:
        # what an upstream whose keep-alive timeout ran out as that request arrived looks like.
        self.drop_next = "rst" if args and args[0] == "rst" else "fin"
        self.respond_text(request, 200, "the next request on this connection is dropped\n")

    def handle_stats(self, request, _args):
        self.respond_json(request, self.server.stats.snapshot())

    ENDPOINTS = {
        "echo": handle_echo,
        "status": handle_status,
        "delay": handle_delay,
        "bytes": handle_bytes,
        "chunked": handle_chunked,
        "reset": handle_reset,
        "reset-mid-body": handle_reset_mid_body,
        "overlong": handle_overlong,
        "close": handle_close,
        "big-header": handle_big_header,
        "early": handle_early,
        "early-reset": handle_early_reset,
        "stall": handle_stall,
        "informational": handle_informational,
        "status-line": handle_status_line,
        "te": handle_te,
        "reset-unframed": handle_reset_unframed,
        "chunked-reset": handle_chunked_reset,
        "drop-next": handle_drop_next,
        "keep-alive": handle_keep_alive,
        "connection-names": handle_connection_names,
        "stats": handle_stats,
    }

    # -- request loop --------------------------------------------------------------------

    def serve(self):
        stats = self.server.stats
        try:
            while not self.close_after_response:
                self.serve_one()
        except Malformed as error:
            stats.record_malformed("conn %d: %s" % (self.number, error))
            self.answer_malformed()
        except PeerClosed as closed:
            if closed.mid_request:
                stats.add("incomplete")
        except OSError:
            stats.add("incomplete")
        finally:
            self.sock.close()

    def serve_one(self):
        request = read_request_head(self.reader)
        if self.drop_next is not None:
            self.server.stats.add("dropped")
            if self.drop_next == "rst":
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_after_response = True
            return
        framing = body_framing(request)
        endpoint, args = self.route(request.path)
        counted = endpoint is not Connection.handle_stats
        stats = self.server.stats
        if counted:
            stats.add("requests")
            stats.add("in_flight")
        try:
            if endpoint in (Connection.handle_early, Connection.handle_early_reset,
                            Connection.handle_stall):
                endpoint(self, request, args)
                return
            if request.has_token("expect", "100-continue") and framing != ("none", 0):
                self.sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            read_body(self.reader, request, framing)
            self.close_after_response = request.wants_close()
            if self.server.latency_ms:
                time.sleep(self.server.latency_ms / 1000)
            endpoint(self, request, args)
        finally:
            if counted:
                stats.add("in_flight", -1)

    @classmethod
    def route(cls, path):
        segments = path.strip("/").split("/")
        endpoint = cls.ENDPOINTS.get(segments[0], Connection.handle_echo)
        return endpoint, segments[1:]

    def answer_malformed(self):
        try:
            self.sock.sendall(b"HTTP/1.1 400 Bad Request\r\nx-upstream: %s\r\n"
                              b"content-length: 0\r\nconnection: close\r\n\r\n"
                              % self.server.name.encode())
        except OSError:
            pass


class Server:
    def __init__(self, port, name, latency_ms=0, idle_timeout=60.0):
        self.name = name
        self.latency_ms = latency_ms
        self.idle_timeout = idle_timeout
        self.stats = Stats(name)
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", port))
        self.listener.listen(1024)
        self.port = self.listener.getsockname()[1]

    def serve_forever(self):
        while True:
            sock, _ = self.listener.accept()
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(self.idle_timeout)
            number = self.stats.add("connections_accepted")
            threading.Thread(target=self.serve_connection, args=(sock, number),
                             daemon=True).start()

    def serve_connection(self, sock, number):
        self.stats.add("active_connections")
        try:
            Connection(self, sock, number).serve()
        finally:
            self.stats.add("active_connections", -1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--port", type=int, required=True, help="0 picks a free port")
    parser.add_argument("--name", default="upstream", help="sent back as x-upstream")
    parser.add_argument("--latency-ms", type=int, default=0,
                        help="extra delay before every response (least-request tests)")
    parser.add_argument("--idle-timeout", type=float, default=60.0,
                        help="seconds a connection may stay silent")
    options = parser.parse_args()
    server = Server(options.port, options.name, options.latency_ms, options.idle_timeout)
    print("READY %d" % server.port, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
