"""A loopback HTTPS proxy that hands a peer's STS calls to moto, for peers with no endpoint setting.

aws-vault v7.2.0 has none: its STS endpoint resolver knows only the AWS hostnames (``regional`` or
``legacy``) and its SDK predates ``AWS_ENDPOINT_URL_STS``. Go's HTTP client does honour
``HTTPS_PROXY`` and ``SSL_CERT_FILE``, so the peer's own code runs unchanged: it sends CONNECT for
``sts.<region>.amazonaws.com:443`` here, this relay terminates TLS with a certificate from a CA made
for the run (the peer trusts only that CA) and pipes the plaintext to moto, which counts the call.
Any other host is refused: nothing leaves the machine.
"""

from __future__ import annotations

import contextlib
import datetime
import socket
import socketserver
import ssl
import threading
from pathlib import Path
from types import TracebackType

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HOSTS = ("sts.amazonaws.com", "sts.us-east-1.amazonaws.com")


def _certificate(directory: Path) -> tuple[Path, Path]:
    """(certificate, key) files: one self-signed certificate for the STS hosts, also the CA file."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "credproc bench STS relay")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(h) for h in HOSTS]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / "relay.pem", directory / "relay.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    except OSError:
        pass
    finally:
        for s in (source, sink):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)


class StsRelay:
    """``with StsRelay(dir, moto_port) as r:`` then give the peer ``r.env()``."""

    def __init__(self, directory: Path, upstream_port: int) -> None:
        self.ca_file, key_file = _certificate(directory)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.ca_file, key_file)
        upstream = upstream_port

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                head = b""
                while b"\r\n\r\n" not in head and len(head) < 8192:
                    chunk = self.request.recv(4096)
                    if not chunk:
                        return
                    head += chunk
                parts = head.split(b"\r\n", 1)[0].decode("latin-1").split()
                host = parts[1].rsplit(":", 1)[0] if len(parts) == 3 and parts[0] == "CONNECT" else ""
                if host not in HOSTS:
                    self.request.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                    return
                self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                try:
                    inner = context.wrap_socket(self.request, server_side=True)
                except (ssl.SSLError, OSError):
                    return
                with inner, socket.create_connection(("127.0.0.1", upstream)) as moto:
                    back = threading.Thread(target=_pipe, args=(moto, inner), daemon=True)
                    back.start()
                    _pipe(inner, moto)
                    back.join()

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.1,), daemon=True)

    def env(self) -> dict[str, str]:
        """What the peer runs with: every HTTPS request through here, trusting only the relay's CA."""
        return {"HTTPS_PROXY": self.url, "https_proxy": self.url, "SSL_CERT_FILE": str(self.ca_file)}

    def __enter__(self) -> StsRelay:
        self.thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()
