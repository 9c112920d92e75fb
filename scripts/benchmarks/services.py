"""The services the runs talk to: a Kafka broker (started here unless --bootstrap names one)
and, for the S3 runs, a moto S3 server with the benchmark's bucket, and the latency proxy in
front of it."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from scripts import kafka_broker

from . import REPO_ROOT, BenchError, progress
from .machine import listening_pid

BUCKET = "kafka-beat-bench"
S3_REGION = "us-east-1"


@contextlib.contextmanager
def broker(bootstrap: str | None) -> Iterator[tuple[str, int | None]]:
    if bootstrap:
        pid = listening_pid(int(bootstrap.rsplit(":", 1)[1]))
        if pid is None:
            progress(
                f"the broker's process at {bootstrap} is not visible: its CPU counts as others'"
            )
        yield bootstrap, pid
        return
    # A temporary broker: its data dir (and the filled topics) go when it stops. Its defaults
    # take the big records (big-2p, up to 10 MiB): socket.request.max.bytes is 100 MiB, and
    # message.max.bytes (1 MiB) is raised by that topic's own max.message.bytes.
    local = kafka_broker.KafkaBroker(heap="1g")
    progress(f"starting a Kafka {kafka_broker.kafka_version()} broker ...")
    with local:
        progress(f"broker on {local.bootstrap} (data {local.data_dir})")
        yield local.bootstrap, local.pid


def kafka_tool(main_class: str, bootstrap: str, topic: str, records: int, *rest: str) -> list[str]:
    """The command line of one of Apache Kafka's performance tools, from the broker's jars."""
    return [
        kafka_broker.java_executable(),
        "-Xmx1g",
        "-cp",
        kafka_broker.java_classpath(),
        f"org.apache.kafka.tools.{main_class}",
        "--bootstrap-server",
        bootstrap,
        "--topic",
        topic,
        "--num-records",
        str(records),
        *rest,
    ]


@contextlib.contextmanager
def moto_server(needed: bool, work_dir: Path) -> Iterator[tuple[str | None, int | None]]:
    if not needed:
        yield None, None
        return
    from tests.support.s3_server import MotoS3Server

    with MotoS3Server(log_path=work_dir / "moto.log") as server:
        s3_client(server.endpoint).create_bucket(Bucket=BUCKET)
        process = getattr(server, "_process", None)
        yield server.endpoint, process.pid if process is not None else None


@contextlib.contextmanager
def latency_proxy(
    upstream: str | None, delay_ms: int, work_dir: Path
) -> Iterator[tuple[str | None, int | None]]:
    """benchmarks.latency_proxy in its own process (so its CPU is not the benchmark's own and
    is watched like moto's): every request to `upstream` held `delay_ms` first."""
    if upstream is None or not delay_ms:
        yield None, None
        return
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    with (work_dir / "latency-proxy.log").open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "scripts.benchmarks.latency_proxy", upstream, str(delay_ms)],
            stdout=subprocess.PIPE,
            stderr=log,
            env=env,
            text=True,
        )
    try:
        assert process.stdout is not None
        endpoint = process.stdout.readline().strip()
        if not endpoint.startswith("http://"):
            raise BenchError(f"the latency proxy did not start (exit {process.poll()})")
        progress(f"latency proxy on {endpoint}: +{delay_ms} ms a request to {upstream}")
        yield endpoint, process.pid
    finally:
        process.terminate()
        process.wait(10)


def s3_client(endpoint: str | None) -> Any:
    """A client of the moto server, with the only credentials it takes."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=S3_REGION,
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
    )


def list_objects(client: Any, prefix: str) -> list[tuple[str, int]]:
    """(key, size) of every object under the prefix."""
    paginator = client.get_paginator("list_objects_v2")
    return [
        (item["Key"], item["Size"])
        for page in paginator.paginate(Bucket=BUCKET, Prefix=prefix)
        for item in page.get("Contents", [])
    ]


def delete_prefix(client: Any, prefix: str) -> None:
    keys = [{"Key": key} for key, _ in list_objects(client, prefix)]
    for start in range(0, len(keys), 1000):  # at most 1,000 keys a request
        batch = keys[start : start + 1000]
        client.delete_objects(Bucket=BUCKET, Delete={"Objects": batch, "Quiet": True})
