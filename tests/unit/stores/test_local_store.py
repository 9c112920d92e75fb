import os
import stat

from handler.stores.base import NewObject, PutOutcome
from handler.stores.local import LocalStore


def test_create_only_and_private(tmp_path) -> None:
    store = LocalStore(tmp_path / "root")
    key = "topic/dt=2026-01-01/hour=00/topic+0+00000000000000000000.jsonl"
    first = store.put_if_absent(NewObject.of_bytes(key, b"one\n", "x"))
    second = store.put_if_absent(NewObject.of_bytes(key, b"two\n", "x"))
    assert (first, second) == (PutOutcome.CREATED, PutOutcome.EXISTS)
    with store.open(key) as body:
        assert body.read() == b"one\n"
    assert stat.S_IMODE(os.stat(tmp_path / "root" / key).st_mode) == 0o600
    for directory in (
        "root",
        "root/topic",
        "root/topic/dt=2026-01-01",
        "root/topic/dt=2026-01-01/hour=00",
    ):
        assert stat.S_IMODE(os.stat(tmp_path / directory).st_mode) == 0o700, directory
    assert list(store.list_keys("")) == [key]  # no temporary files left behind
