"""One contract, every store: the local directory, S3 (moto, and SeaweedFS, a real
S3-compatible server), Google Cloud Storage (fake-gcs-server) and Azure Blob Storage (Azurite),
each through the `Store` protocol only.

What the chain relies on is tested here rather than assumed: a create-only put that is atomic
(threads racing on one key, many trials, exactly one CREATED, the winner's bytes stored), `head`
giving back every `kb-*` metadata name, `read` of an absent key being None, `replace`
overwriting, `list_keys` sorted under a prefix, `open` giving the bytes, and a missing bucket or
container being a ConfigError (exit 2) that says what to fix.

moto checks conditional writes check-then-act, so its S3 here is the single-threaded server
(serial_s3_server), atomic the way S3 is: the S3 race shows the store's side, not moto's.
"""

from __future__ import annotations

import hashlib
import os
import random
import threading

import pytest

from handler.errors import ConfigError
from handler.format import layout
from handler.stores.base import NewObject, PutOutcome, Store
from handler.stores.create_only import verify_create_only
from tests.support.destinations import KINDS, Place, place_for

RACERS = 8
# Bodies above what each store sends in one request: GCS switches to a resumable upload above
# 8 MiB (the library's threshold); the Azure stores below are built to upload in 256 KiB blocks.
LARGE_BODY = 8 * 1024 * 1024 + 4096
AZURE_BLOCK = 256 * 1024

EVERY_KB_NAME = {
    value: f"value-of-{name.lower()}"
    for name, value in vars(layout).items()
    if name.startswith("META_") and isinstance(value, str)
}


@pytest.fixture(params=KINDS)
def place(request) -> Place:
    """A fresh place of each kind, its S3 on the serialized moto server (whose conditional
    writes are atomic); few retries, so refusals show quickly."""
    return place_for(
        request.param, request, "p", serial_s3=True, attempts=2, azure_block_bytes=AZURE_BLOCK
    )


def put(store: Store, key: str, body: bytes, metadata=None) -> PutOutcome:
    return store.put_if_absent(NewObject.of_bytes(key, body, "application/octet-stream", metadata))


def key_of(store: Store, *parts: str) -> str:
    return layout.join_key(store.prefix, *parts)


def test_create_only_refuses_a_second_create(place) -> None:
    store = place.open()
    key = key_of(store, "t", "t+0+00000000000000000000.jsonl.gz")

    assert put(store, key, b"first") is PutOutcome.CREATED
    assert put(store, key, b"second, longer") is PutOutcome.EXISTS
    assert store.read(key) == b"first"
    head = store.head(key)
    assert head is not None and head.size == len(b"first")


def test_check_passes_and_proves_create_only(place) -> None:
    """What `check` and every run do first: the store answers, and refuses an overwrite."""
    store = place.open()
    store.check()
    assert verify_create_only(store) is True
    assert verify_create_only(place.open()) is True  # the probe is there already: still EXISTS


def test_head_gives_back_every_kb_metadata_name(place) -> None:
    store = place.open()
    key = key_of(store, "meta")
    # S3 checks the body against kb-sha256 (the store sends it as the object's checksum).
    metadata = EVERY_KB_NAME | {layout.META_SHA256: hashlib.sha256(b"body").hexdigest()}
    assert put(store, key, b"body", metadata) is PutOutcome.CREATED

    head = store.head(key)

    assert head is not None and head.key == key and head.size == 4
    if place.kind == "local":
        assert head.metadata is None  # the local directory keeps none: the chain reads content
    else:
        assert head.metadata == metadata
        # Every name the layout has (13 today, kb-dead-letters among them), and the hash.
        assert layout.META_DEAD_LETTERS in metadata and len(metadata) >= 13


def test_absent_keys(place) -> None:
    store = place.open()
    assert store.read(key_of(store, "nothing", "here")) is None
    assert store.head(key_of(store, "nothing", "here")) is None
    assert list(store.list_keys(key_of(store, "nothing") + "/")) == []


def test_replace_overwrites(place) -> None:
    store = place.open()
    key = key_of(store, "_kafka_beat", "checkpoints", "t+0.json")
    store.replace(key, b'{"next": 1}')
    store.replace(key, b'{"next": 2}')
    assert store.read(key) == b'{"next": 2}'

    created = key_of(store, "created-then-replaced")
    assert put(store, created, b"one") is PutOutcome.CREATED
    store.replace(created, b"two")
    assert store.read(created) == b"two"


def test_list_keys_sorted_under_a_prefix(place) -> None:
    store = place.open()
    names = [
        "t/dt=2026-11-30/hour=23/t+1+00000000000000000010.jsonl.gz",
        "t/dt=2026-12-01/hour=00/t+0+00000000000000000000.jsonl.gz",
        "t/dt=2026-12-01/hour=00/t+0+00000000000000000100.jsonl.gz",
        "t/b-10",
        "t/b-2",
        "t/B",
        "t/a/deep/er",
    ]
    keys = [key_of(store, name) for name in names]
    outside = [key_of(store, "u", "x"), key_of(store, "t2"), "elsewhere/t/x"]
    for key in random.Random(7).sample(keys + outside, len(keys + outside)):
        assert put(store, key, b"x") is PutOutcome.CREATED

    listed = list(store.list_keys(key_of(store, "t") + "/"))

    assert listed == sorted(keys)
    day = key_of(store, "t", "dt=2026-12-01") + "/"
    assert list(store.list_keys(day)) == [key for key in sorted(keys) if key.startswith(day)]
    assert len(list(store.list_keys(day))) == 2


def test_open_streams_the_bytes(place) -> None:
    store = place.open()
    body = random.Random(3).randbytes(3 * 1024 * 1024 + 17)
    key = key_of(store, "big.jsonl.zst")
    assert put(store, key, body) is PutOutcome.CREATED

    with store.open(key) as stream:
        chunks = iter(lambda: stream.read(64 * 1024), b"")
        assert b"".join(chunks) == body
    with place.open().open(key) as stream:
        assert stream.read() == body


def race(place: Place, key: str, size: int) -> tuple[list[PutOutcome], bytes, list[bytes]]:
    """RACERS threads, each with its own store and body, released together onto one key."""
    stores = [place.open() for _ in range(RACERS)]
    bodies = [os.urandom(size) for _ in range(RACERS)]
    outcomes: list[PutOutcome | BaseException | None] = [None] * RACERS
    gate = threading.Barrier(RACERS)

    def racer(index: int) -> None:
        try:
            gate.wait(30)
            outcomes[index] = put(stores[index], key, bodies[index])
        except BaseException as exc:
            outcomes[index] = exc

    threads = [threading.Thread(target=racer, args=(n,)) for n in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    failures = [item for item in outcomes if not isinstance(item, PutOutcome)]
    assert not failures, failures
    stored = place.open().read(key)
    assert stored is not None
    return outcomes, stored, bodies  # type: ignore[return-value]


def test_racing_creates_have_exactly_one_winner(place, record_property, request) -> None:
    """RACERS threads race put_if_absent on one key, --race-trials times: exactly one CREATED
    each time, every other EXISTS, and the bytes stored are the winner's."""
    winners = []
    trials = request.config.getoption("--race-trials")
    for trial in range(trials):
        key = key_of(place.open(), "race", f"small-{trial}")
        outcomes, stored, bodies = race(place, key, 2048)
        created = [n for n, outcome in enumerate(outcomes) if outcome is PutOutcome.CREATED]
        assert len(created) == 1, (trial, outcomes)
        assert stored == bodies[created[0]], trial
        winners.append(created[0])
    record_property("winners", winners)
    print(f"{place.kind}: {trials} trials of {RACERS} racers, one winner each; winners {winners}")


def _large(place: Place, request) -> int:
    """The body size above each store's single request (S3 and local: one request always)."""
    if place.kind == "gcs":
        request.applymarker(
            pytest.mark.xfail(
                strict=True,
                reason="fake-gcs-server ignores ifGenerationMatch on resumable uploads (bodies "
                "over 8 MiB): a second create overwrites. GCS documents the precondition for "
                "them; the emulator cannot show it",
            )
        )
        return LARGE_BODY
    return AZURE_BLOCK * 4 + 1000 if place.kind == "azure" else 1024 * 1024


def test_a_large_body_is_created_only_once(place, request) -> None:
    """Above each store's single-request size (GCS: resumable; Azure: blocks and a commit)."""
    size = _large(place, request)
    store = place.open()
    key = key_of(store, "large", "once")
    first, second = os.urandom(size), os.urandom(size)

    assert put(store, key, first) is PutOutcome.CREATED
    assert put(place.open(), key, second) is PutOutcome.EXISTS
    assert store.read(key) == first


def test_racing_large_creates_have_exactly_one_winner(place, request) -> None:
    size = _large(place, request)
    for trial in range(5):
        key = key_of(place.open(), "race", f"large-{trial}")
        outcomes, stored, bodies = race(place, key, size)
        created = [n for n, outcome in enumerate(outcomes) if outcome is PutOutcome.CREATED]
        assert len(created) == 1, (trial, outcomes)
        assert stored == bodies[created[0]], trial


def test_a_missing_bucket_or_container_is_a_config_error(place) -> None:
    if place.missing is None:
        pytest.skip("the local store creates its directory")
    store = place.missing()
    noun = "container" if place.kind == "azure" else "bucket"
    with pytest.raises(ConfigError, match=rf"{noun} '.+' does not exist.*KAFKA_BEAT_DESTINATION"):
        store.check()
    with pytest.raises(ConfigError, match=rf"{noun} '.+' does not exist"):
        put(store, key_of(store, "k"), b"x")
    with pytest.raises(ConfigError, match=rf"{noun} '.+' does not exist"):
        list(store.list_keys(store.prefix))


def test_azure_keeps_kb_names_as_identifiers_and_gives_them_back(
    azurite, azure_service, azure_container_factory
) -> None:
    from handler.stores.azure import AzureBlobStore

    container = azure_service.get_container_client(azure_container_factory())
    store = AzureBlobStore(container, "")
    metadata = {name: str(n) for n, name in enumerate(EVERY_KB_NAME)}
    assert put(store, "k", b"body", metadata) is PutOutcome.CREATED

    on_the_wire = container.get_blob_client("k").get_blob_properties().metadata
    assert set(on_the_wire) == {name.replace("-", "_") for name in metadata}
    head = store.head("k")
    assert head is not None and head.metadata == metadata


def test_azure_refusing_the_key_is_an_auth_error(azurite, azure_container_factory) -> None:
    from pydantic import SecretStr

    from handler.errors import AuthError
    from handler.stores.azure import AzureBlobStore, azure_service
    from scripts.emulators import AZURITE_KEY

    wrong = "S2ItV3JvbmctS2V5" + AZURITE_KEY[16:]  # valid base64, not the account's key
    service = azure_service(None, SecretStr(azurite.connection_string.replace(AZURITE_KEY, wrong)))
    store = AzureBlobStore(service.get_container_client(azure_container_factory()), "p")
    with pytest.raises(AuthError, match="refused these credentials") as refused:
        store.check()
    assert wrong not in str(refused.value) and AZURITE_KEY not in str(refused.value)


@pytest.mark.parametrize("kind", ["s3", "seaweedfs", "gcs", "azure"])
def test_the_check_command_proves_create_only(kind, request, bootstrap, topic_factory, tmp_path):
    """`python -m handler check` against each cloud store: the destination step writes the
    probe twice through the Store protocol and passes only if the second write is refused."""
    import subprocess
    import sys

    from tests.support import runs
    from tests.support.destinations import destination_for

    target, store = destination_for(kind, request, "chk")
    result = subprocess.run(
        [sys.executable, "-m", "handler", "check"],
        env=runs.environment(
            bootstrap_servers=bootstrap, group_id="g", topics=topic_factory(1), **target
        ),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "refuses overwrites (create-only)" in result.stdout
    assert store.head(layout.probe_key(store.prefix)) is not None


def test_decode_and_verify_read_back_from_gcs(
    request, bootstrap, topic_factory, producer, tmp_path
) -> None:
    import subprocess
    import sys

    from tests.integration.test_collect import log_lines
    from tests.support import runs
    from tests.support.destinations import destination_for
    from tests.support.reconcile import produce

    target, _ = destination_for("gcs", request, "rb")
    topic = topic_factory(2)
    produce(producer, topic, log_lines(300, 2))
    runs.run_to_completion(
        tmp_path, bootstrap_servers=bootstrap, group_id="g", topics=topic, **target
    )
    endpoint = ["--endpoint-url", target["gcs_endpoint_url"]]

    def command(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "handler", *args, target["destination"], *endpoint],
            env=runs.environment(),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    decoded = command("decode")
    assert decoded.returncode == 0, decoded.stderr
    assert len(decoded.stdout.splitlines()) == 300
    verified = command("verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.count("OK ") == 2, verified.stdout
