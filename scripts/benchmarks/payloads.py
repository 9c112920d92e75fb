"""Payloads: realistic enough to exercise JSON parsing and compression the way real logs do."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .workloads import PayloadKind

_LEVELS = ("INFO", "WARN", "ERROR", "DEBUG")
_SERVICES = ("auth", "api-gateway", "billing", "search", "checkout", "profile", "vpn", "mail")
_ACTIONS = (
    "login",
    "logout",
    "token_refresh",
    "password_change",
    "mfa_challenge",
    "session_expired",
    "access_denied",
    "file_download",
)
_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 Version/18.1 Safari",
    "curl/8.5.0",
    "okhttp/4.12.0",
    "python-requests/2.32.3",
    "aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5",
)
_EVENT_NAMES = ("GetObject", "PutObject", "AssumeRole", "DescribeInstances", "ListBuckets")
_REGIONS = ("us-east-1", "eu-west-1", "eu-central-1", "ap-southeast-2")
_EPOCH = datetime(2026, 11, 25, tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def log_line(rng: random.Random, index: int) -> str:
    """One application/security log event of about 250 bytes."""
    user = f"user{rng.randrange(20_000):05d}"
    src_ip = ".".join(str(rng.randrange(1, 255)) for _ in range(4))
    action = rng.choice(_ACTIONS)
    event: dict[str, Any] = {
        "@timestamp": _iso(_EPOCH + timedelta(milliseconds=index * 41 + rng.randrange(40))),
        "level": rng.choices(_LEVELS, weights=(70, 15, 5, 10))[0],
        "service": rng.choice(_SERVICES),
        "host": f"ip-10-0-{rng.randrange(16)}-{rng.randrange(1, 255)}",
        "user": user,
        "src_ip": src_ip,
        "action": action,
        "outcome": rng.choice(("success", "success", "success", "failure")),
        "latency_ms": rng.randrange(1, 1500),
    }
    room = 250 + rng.randrange(-20, 21) - len(_compact(event)) - len(',"message":""')
    message = f"{action} for {user} from {src_ip} via {rng.choice(_AGENTS)}"
    event["message"] = message[: max(16, room)].rstrip()
    return _compact(event)


def document(rng: random.Random, index: int) -> str:
    """One CloudTrail-like audit record of about 4 KB."""
    account = f"{rng.randrange(10**11, 10**12)}"
    session = f"session-{rng.getrandbits(32):08x}"
    moment = _iso(_EPOCH + timedelta(milliseconds=index * 97))
    bucket = f"data-{rng.choice(_SERVICES)}-{account[-4:]}"
    doc: dict[str, Any] = {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": f"AROA{rng.getrandbits(64):016X}:{session}",
            "arn": f"arn:aws:sts::{account}:assumed-role/{rng.choice(_SERVICES)}-role/{session}",
            "accountId": account,
            "accessKeyId": f"ASIA{rng.getrandbits(64):016X}",
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": f"AROA{rng.getrandbits(64):016X}",
                    "arn": f"arn:aws:iam::{account}:role/{rng.choice(_SERVICES)}-role",
                    "accountId": account,
                    "userName": f"{rng.choice(_SERVICES)}-role",
                },
                "attributes": {"creationDate": moment, "mfaAuthenticated": "false"},
            },
        },
        "eventTime": moment,
        "eventSource": "s3.amazonaws.com",
        "eventName": rng.choice(_EVENT_NAMES),
        "awsRegion": rng.choice(_REGIONS),
        "sourceIPAddress": ".".join(str(rng.randrange(1, 255)) for _ in range(4)),
        "userAgent": rng.choice(_AGENTS),
        "requestParameters": {
            "bucketName": bucket,
            "Host": f"{bucket}.s3.amazonaws.com",
            "key": f"logs/{rng.randrange(2020, 2027)}/{rng.getrandbits(48):012x}.json.gz",
        },
        "responseElements": None,
        "additionalEventData": {
            "SignatureVersion": "SigV4",
            "CipherSuite": "TLS_AES_128_GCM_SHA256",
            "bytesTransferredIn": 0,
            "bytesTransferredOut": rng.randrange(100, 10**7),
            "AuthenticationMethod": "AuthHeader",
            "x-amz-id-2": f"{rng.getrandbits(256):064x}",
        },
        "requestID": f"{rng.getrandbits(64):016X}",
        "eventID": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "readOnly": rng.random() < 0.8,
        "resources": [],
        "eventType": "AwsApiCall",
        "managementEvent": False,
        "recipientAccountId": account,
        "eventCategory": "Data",
        "tlsDetails": {
            "tlsVersion": "TLSv1.3",
            "cipherSuite": "TLS_AES_128_GCM_SHA256",
            "clientProvidedHostHeader": f"{bucket}.s3.amazonaws.com",
        },
    }
    target = 4096 + rng.randrange(-200, 201)
    resources: list[dict[str, Any]] = doc["resources"]
    # The length of the document as it grows, counted rather than serialised again at every
    # step (same bytes: each resource after the first adds its own JSON and a comma).
    size = len(_compact(doc))
    while size < target:
        resource = {
            "type": "AWS::S3::Object",
            "ARN": f"arn:aws:s3:::{bucket}/{rng.getrandbits(96):024x}/part-{len(resources)}",
            "accountId": account,
        }
        size += len(_compact(resource)) + (1 if resources else 0)
        resources.append(resource)
    return _compact(doc)


BIG_DOCUMENT_BYTES = (9_000_000, 9_500_000)
"""A big document's size: under the broker's 10 MiB (10,485,760 B) with room for the record's
key, headers and batch overhead."""


def big_document(
    rng: random.Random, index: int, size_bytes: tuple[int, int] = BIG_DOCUMENT_BYTES
) -> str:
    """One JSON document of 9.0-9.5 MB (or `size_bytes`): a batch of log events, as an
    exporter's bulk record."""
    target = rng.randrange(*size_bytes)
    head = _compact({"batch": index, "exporter": "fluent-bit", "events": []})[:-2]
    events: list[str] = []
    size = len(head) + 2  # head + "]}"
    while True:
        event = log_line(rng, index * 100_000 + len(events))
        if size + len(event) + 1 > target:
            break
        events.append(event)
        size += len(event) + (1 if len(events) > 1 else 0)
    return head + ",".join(events) + "]}"


def not_json(line: str) -> str:
    """A log line that stops being JSON with the same size and nearly the same bytes: its
    opening brace replaced."""
    return "#" + line[1:]


def payload_file(kind: PayloadKind, records: int, directory: Path) -> Path:
    """ProducerPerformance draws each record at random from this file's lines. Enough distinct
    lines that repeats rarely fall inside a compressor's window (zstd -3 looks back ~2 MB).
    log-half-invalid is the log file (same seed, same lines) with every second line not JSON,
    so about half the records are, drawn at random. Big documents: a few distinct ones (each
    far larger than any compressor's window)."""
    distinct = min(records, {"doc": 10_000, "big": 4}.get(kind, 100_000))
    path = directory / f"payloads-{kind}-{distinct}.txt"
    if not path.exists():
        rng = random.Random(20261125)
        make = {"doc": document, "big": big_document}.get(kind, log_line)
        lines = [make(rng, i) for i in range(distinct)]
        if kind == "log-half-invalid":
            lines[1::2] = [not_json(line) for line in lines[1::2]]
        path.write_text("\n".join(lines), encoding="utf-8")
    return path
