"""tests/helpers/wsraw.py - a deliberately minimal RFC 6455 client over a raw
socket, for the conformance tests: it can send what a correct client never
would (unmasked frames, reserved bits, bad opcodes, broken UTF-8, lying
lengths) and report exactly what the server answers."""
import base64
import os
import socket
import struct
import time


class Closed(Exception):
    pass


class RawWS:
    def __init__(self, port, path="/ws/party/raw", host="127.0.0.1", headers=None,
                 timeout=5.0, rcvbuf=None, answer_rtt_pings=True, source=None):
        # The server pings party members with an 8-byte payload to time
        # their round trip (the lead); like a browser, this client answers
        # those by itself unless told not to, so the frame-level cases see
        # only what they provoke.
        self.answer_rtt_pings = answer_rtt_pings
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        if source:                      # another loopback address: 127.0.0.2
            self.sock.bind((source, 0))
        self.sock.connect((host, port))
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}",
                 "Upgrade: websocket", "Connection: Upgrade",
                 f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
        for k, v in (headers or {}).items():
            lines.append(f"{k}: {v}")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise Closed("closed during handshake")
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        self.status_line = head.split(b"\r\n")[0].decode()
        self.status = int(self.status_line.split()[1])
        self.headers = head.decode(errors="replace")

    def send_frame(self, opcode, payload=b"", fin=True, mask=True, rsv=0,
                   length=None):
        self.sock.sendall(self.frame(opcode, payload, fin, mask, rsv, length))

    @staticmethod
    def frame(opcode, payload=b"", fin=True, mask=True, rsv=0, length=None):
        """One frame's bytes, for sending several in one write."""
        b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
        n = len(payload) if length is None else length
        if n < 126:
            hdr = struct.pack("!BB", b0, (0x80 if mask else 0) | n)
        elif n < 65536:
            hdr = struct.pack("!BBH", b0, (0x80 if mask else 0) | 126, n)
        else:
            hdr = struct.pack("!BBQ", b0, (0x80 if mask else 0) | 127, n)
        if mask:
            mk = os.urandom(4)
            payload = bytes(c ^ mk[i % 4] for i, c in enumerate(payload))
            hdr += mk
        return hdr + payload

    def send_text(self, text, **kw):
        self.send_frame(1, text.encode() if isinstance(text, str) else text, **kw)

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise Closed("eof")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv_frame(self):
        """Returns (opcode, payload, rsv1)."""
        while True:
            op, payload, rsv1 = self._recv_frame()
            if op != 9 or len(payload) != 8 or not self.answer_rtt_pings:
                return op, payload, rsv1
            try:
                self.send_frame(10, payload)
            except OSError:
                pass

    def _recv_frame(self):
        b0, b1 = self._read(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._read(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._read(8))[0]
        if b1 & 0x80:
            self._read(4)
        return b0 & 0x0F, self._read(n), bool(b0 & 0x40)

    def recv_until_close(self, timeout=5.0):
        """Reads frames until a close frame; returns (code, reason, seconds
        until the TCP connection ended after the close frame or None)."""
        self.sock.settimeout(timeout)
        while True:
            op, payload, _ = self.recv_frame()
            if op == 8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                reason = payload[2:].decode(errors="replace")
                t0 = time.monotonic()
                try:
                    self.send_frame(8, payload[:2])
                    while self.sock.recv(4096):
                        pass
                except OSError:
                    pass
                return code, reason, time.monotonic() - t0

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
