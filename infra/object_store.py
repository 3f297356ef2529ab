"""Install, configure, start and stop the S3-compatible object store of the cluster profile's test bed:
S3Proxy (Maven Central) on its file-system backend, on 127.0.0.1; plus the configuration Spark (s3a)
and Trino (native S3 file system) need to reach it, or any other S3 endpoint.

State lives under `<home>/object_store/`: the generated access key and secret (`credentials.json`,
mode 0600), S3Proxy's properties (0600: they hold the secret), its pid, log and the buckets' files.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from infra.downloads import fetch, maven_url
from infra.java import spark_java_home
from infra.settings import Settings

S3PROXY_VERSION = "4.1.0"  # Java 17+; `filesystem-nio2` backend
HADOOP_AWS_VERSION = "3.5.0"  # = pyspark 4.2.0's jars/hadoop-client-api-3.5.0.jar
AWS_SDK_VERSION = "2.35.4"  # hadoop-project 3.5.0's aws-java-sdk-v2.version (software.amazon.awssdk:bundle)
ANALYTICS_ACCELERATOR_VERSION = "1.3.1"  # hadoop-aws 3.5.0's compile dependency (analytics input stream)
HOST = "127.0.0.1"
PORT = 19000
REGION = "us-east-1"  # S3Proxy accepts any region in the signature scope; clients need one


class ObjectStoreError(RuntimeError):
    pass


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str


def store_dir(s: Settings) -> Path:
    return s.home / "object_store"


def log_file(s: Settings) -> Path:
    return store_dir(s) / "s3proxy.log"


def _pid_file(s: Settings) -> Path:
    return store_dir(s) / "s3proxy.pid"


def endpoint(port: int = PORT) -> str:
    return f"http://{HOST}:{port}"


def install(s: Settings, log: Callable[[str], object] = print) -> Path:
    """S3Proxy's self-contained jar in `<cache>/downloads` (checksummed; a cached one is reused)."""
    name = f"s3proxy-{S3PROXY_VERSION}-jar-with-dependencies.jar"
    jar = s.cache / "downloads" / name
    if not jar.exists():
        log(f"downloading {name}")
    url = maven_url("org.gaul", "s3proxy", S3PROXY_VERSION, "jar").removesuffix(".jar")
    return fetch(f"{url}-jar-with-dependencies.jar", jar)


def spark_jars(s: Settings) -> list[Path]:
    """The jars Spark needs beside Delta's for s3a:// (hadoop-aws and the AWS SDK v2 it was built with)."""
    artifacts = (
        ("org.apache.hadoop", "hadoop-aws", HADOOP_AWS_VERSION),
        ("software.amazon.awssdk", "bundle", AWS_SDK_VERSION),
        ("software.amazon.s3.analyticsaccelerator", "analyticsaccelerator-s3", ANALYTICS_ACCELERATOR_VERSION),
    )
    downloads = s.cache / "downloads"
    return [
        fetch(maven_url(group, artifact, version, "jar"), downloads / f"{artifact}-{version}.jar")
        for group, artifact, version in artifacts
    ]


def _write_private(path: Path, text: str) -> None:
    """Write `text` to a file only the owner reads (created 0600, never readable in between)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    path.chmod(0o600)


def credentials(s: Settings) -> Credentials:
    """This installation's access key and secret: generated once, kept in a 0600 file under the home."""
    path = store_dir(s) / "credentials.json"
    if not path.exists():
        new = {"access_key": "govlake-" + secrets.token_hex(6), "secret_key": secrets.token_urlsafe(30)}
        _write_private(path, json.dumps(new))
    return Credentials(**json.loads(path.read_text()))


def client_credentials(s: Settings, access_key: str = "", secret_key: str = "") -> Credentials:
    """The key clients use: the one given (a store elsewhere), else this installation's generated one."""
    return Credentials(access_key, secret_key) if access_key else credentials(s)


def port_of(url: str) -> int:
    """The port of an endpoint URL (S3Proxy listens on it when this installation runs the store)."""
    return urllib.parse.urlsplit(url).port or PORT


def configure(s: Settings, port: int = PORT) -> Path:
    """Write S3Proxy's properties: this port, signature v2/v4 with our credentials, files under the home."""
    creds = credentials(s)
    data = store_dir(s) / "data"
    data.mkdir(mode=0o700, parents=True, exist_ok=True)
    props = {
        "s3proxy.endpoint": endpoint(port),
        "s3proxy.authorization": "aws-v2-or-v4",
        "s3proxy.identity": creds.access_key,
        "s3proxy.credential": creds.secret_key,
        # AWS SDKs send headers S3Proxy does not know (Trino's ListObjectsV2 x-amz-optional-object-attributes)
        "s3proxy.ignore-unknown-headers": "true",
        "jclouds.provider": "filesystem-nio2",
        "jclouds.filesystem.basedir": str(data),
    }
    conf = store_dir(s) / "s3proxy.conf"
    _write_private(conf, "".join(f"{k}={v}\n" for k, v in props.items()))
    return conf


def _sign(method: str, url: str, creds: Credentials, body: bytes = b"") -> urllib.request.Request:
    """A request signed with AWS signature v4 (path-style, no query string)."""
    parts = urllib.parse.urlsplit(url)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    payload = hashlib.sha256(body).hexdigest()
    headers = {"host": parts.netloc, "x-amz-content-sha256": payload, "x-amz-date": stamp}
    names = ";".join(sorted(headers))
    canonical = "\n".join(
        [method, parts.path or "/", "", *(f"{k}:{headers[k]}" for k in sorted(headers)), "", names, payload]
    )
    scope = f"{stamp[:8]}/{REGION}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + creds.secret_key).encode()
    for part in (stamp[:8], REGION, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["Authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={creds.access_key}/{scope}, "
        f"SignedHeaders={names}, Signature={signature}"
    )
    return urllib.request.Request(url, data=body if method == "PUT" else None, headers=headers, method=method)


def _call(method: str, url: str, creds: Credentials) -> tuple[int, str]:
    """(HTTP status, body) of a signed request; (0, reason) when nothing answers."""
    try:
        with urllib.request.urlopen(_sign(method, url, creds), timeout=5) as resp:
            return resp.status, resp.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")
    except (urllib.error.URLError, OSError) as exc:
        return 0, str(exc)


def _pid(s: Settings) -> int | None:
    """The pid of this installation's S3Proxy if it is alive (and still the S3Proxy we started)."""
    try:
        pid = int(_pid_file(s).read_text())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if b"s3proxy" in cmdline and str(store_dir(s)).encode() in cmdline else None


def status(s: Settings, port: int = PORT) -> dict[str, object] | None:
    """{pid, endpoint, buckets} when this installation's S3Proxy runs and accepts our credentials."""
    pid = _pid(s)
    if pid is None:
        return None
    code, body = _call("GET", endpoint(port) + "/", credentials(s))
    if code != 200:
        return None
    buckets = [chunk.split("</Name>")[0] for chunk in body.split("<Name>")[1:]]
    return {"pid": pid, "endpoint": endpoint(port), "buckets": buckets}


def start(s: Settings, port: int = PORT, timeout: float = 60.0) -> Credentials:
    """Start S3Proxy in the background (unless it runs) and wait until it answers signed requests."""
    creds = credentials(s)
    if status(s, port) is not None:
        return creds
    code, _ = _call("GET", endpoint(port) + "/", creds)
    if code:
        raise ObjectStoreError(
            f"a server answers on {endpoint(port)} but no S3Proxy runs from {store_dir(s)}: "
            "it belongs to another installation; stop it, or choose another port"
        )
    jar, conf = install(s), configure(s, port)
    java = spark_java_home(s.spark_java_home) / "bin" / "java"
    quiet = "-Dlogback.statusListenerClass=ch.qos.logback.core.status.NopStatusListener"
    cmd = [str(java), "-Xmx256m", quiet, "-jar", str(jar), "--properties", str(conf)]
    with log_file(s).open("ab") as log:
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    _pid_file(s).write_text(str(proc.pid))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            code = proc.returncode
            raise ObjectStoreError(f"S3Proxy exited during start-up (code {code}); log: {log_file(s)}")
        if status(s, port) is not None:
            return creds
        time.sleep(0.5)
    proc.kill()
    raise ObjectStoreError(f"S3Proxy did not answer within {timeout:.0f}s; see its log: {log_file(s)}")


def stop(s: Settings, timeout: float = 30.0) -> bool:
    """Stop this installation's S3Proxy (TERM, then KILL after `timeout`); True if one was running."""
    pid = _pid(s)
    _pid_file(s).unlink(missing_ok=True)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while Path(f"/proc/{pid}").exists():
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reap it when we are its parent
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            deadline += timeout
        time.sleep(0.2)
    return True


def create_bucket(s: Settings, bucket: str, port: int = PORT) -> None:
    """Create `bucket` (path-style PUT); one that exists already is fine."""
    code, body = _call("PUT", f"{endpoint(port)}/{bucket}", credentials(s))
    if code == 200 or (code == 409 and "BucketAlreadyOwnedByYou" in body):
        return
    raise ObjectStoreError(f"creating bucket {bucket} failed ({code}): {body[:300]}; log: {log_file(s)}")


def s3a_conf(url: str, creds: Credentials, region: str = REGION) -> dict[str, str]:
    """Spark conf for s3a:// on a path-style, plain-HTTP endpoint with a static key (Delta keeps its default
    S3SingleDriverLogStore for s3a: safe with one writing driver at a time)."""
    hadoop = {
        "fs.s3a.endpoint": url,
        "fs.s3a.endpoint.region": region,
        "fs.s3a.path.style.access": "true",
        "fs.s3a.connection.ssl.enabled": str(url.startswith("https://")).lower(),
        "fs.s3a.access.key": creds.access_key,
        "fs.s3a.secret.key": creds.secret_key,
        "fs.s3a.aws.credentials.provider": "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
        "fs.s3a.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
    }
    return {f"spark.hadoop.{k}": v for k, v in hadoop.items()}


def trino_s3_properties(
    url: str, creds: Credentials, region: str = REGION, secret_env: str | None = None
) -> dict[str, str]:
    """Trino 476 catalog properties for its native S3 file system on that endpoint. `secret_env`: write the
    secret as `${ENV:<name>}` (handed to Trino's JVM in its environment) instead of in the file."""
    return {
        "fs.native-s3.enabled": "true",
        "s3.endpoint": url,
        "s3.region": region,
        "s3.path-style-access": "true",
        "s3.aws-access-key": creds.access_key,
        "s3.aws-secret-key": f"${{ENV:{secret_env}}}" if secret_env else creds.secret_key,
    }
