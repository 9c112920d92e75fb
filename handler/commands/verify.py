"""`python -m handler verify LOCATION`: audit what storage holds, per partition.

Reads every data object under a directory or S3 prefix: checks that its bytes match the SHA-256
it was stored with (object metadata on S3, the run manifests for the local directory), that its
records lie within its chain range, and that the objects of each partition lie end to end.
Reports offsets covered, gaps (told apart from gaps of accepted data loss, which the chain
records), overlaps and hash mismatches; exits non-zero on any of them.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

from handler.chain.checkpoints import read_checkpoint
from handler.chain.positions import read_position
from handler.commands.decode import open_location
from handler.format.layout import (
    META_DEAD_LETTERS,
    META_GAP_FROM,
    META_NEXT,
    META_SHA256,
    dead_letters_key,
    is_dead_letter_key,
    is_manifest_key,
    is_state_key,
    parse_object_name,
    prefix_of,
)
from handler.format.reading import stored_records
from handler.stores.base import Store


@dataclass
class PartitionAudit:
    """What one partition's chain in storage holds, and what is wrong with it."""

    topic: str
    partition: int
    objects: int = 0
    """Data objects of the chain (their dead letters' companions not counted)."""
    records: int = 0
    """Records the data objects hold."""
    dead_letters: int = 0
    """Invalid records of the chain's ranges, in their companion objects."""
    first_offset: int | None = None
    end_offset: int | None = None
    """Where the chain ends: the last object's `next`."""
    gaps: list[list[int]] = field(default_factory=list)
    """Offset ranges [from, to) no object covers, past accepted data loss."""
    known_gaps: list[list[int]] = field(default_factory=list)
    """Gaps recorded as accepted data loss (KAFKA_BEAT_ON_DATA_LOSS=skip)."""
    overlaps: list[list[int]] = field(default_factory=list)
    hash_mismatches: list[str] = field(default_factory=list)
    content_errors: list[str] = field(default_factory=list)
    missing_dead_letters: list[str] = field(default_factory=list)
    """Data objects whose metadata counts dead letters that their companion does not hold."""

    @property
    def healthy(self) -> bool:
        return not (
            self.gaps
            or self.overlaps
            or self.hash_mismatches
            or self.content_errors
            or self.missing_dead_letters
        )

    def line(self) -> str:
        state = "OK  " if self.healthy else "FAIL"
        problems = [
            f"{label} {value}"
            for label, value in (
                ("gaps", self.gaps),
                ("overlaps", self.overlaps),
                ("hash mismatches", self.hash_mismatches),
                ("content errors", self.content_errors),
                ("missing dead letters", self.missing_dead_letters),
            )
            if value
        ]
        known = f", accepted data-loss gaps {self.known_gaps}" if self.known_gaps else ""
        return (
            f"{state} {self.topic}:{self.partition} offsets {self.first_offset}.."
            f"{self.end_offset} in {self.objects} object(s), {self.records} record(s), "
            f"{self.dead_letters} dead letter(s){known}"
            + (f"; {'; '.join(problems)}" if problems else "")
        )


@dataclass
class _Stored:
    key: str
    start: int
    next: int
    gap_from: int | None


def _manifest_entries(store: Store, keys: list[str]) -> dict[str, dict[str, Any]]:
    """What the runs' manifests say of each object they stored (its hash and chain end)."""
    entries: dict[str, dict[str, Any]] = {}
    for key in keys:
        if is_manifest_key(key):
            with store.open(key) as raw:
                manifest = orjson.loads(raw.read())
            for part in manifest.get("partitions", []):
                for item in part.get("objects", []):
                    entries[item["key"]] = item
    return entries


def audit(location: str, endpoint_url: str | None) -> list[PartitionAudit]:
    store, keys = open_location(location, endpoint_url)
    every_key = list(store.list_keys(""))
    manifests = _manifest_entries(store, every_key)
    by_partition: dict[tuple[str, int], list[_Stored]] = {}
    audits: dict[tuple[str, int], PartitionAudit] = {}
    for key in keys:
        named = parse_object_name(key)
        if named is None or is_state_key(key) or is_dead_letter_key(key):
            continue
        topic, partition, start, _ = named
        ident = (topic, partition)
        result = audits.setdefault(ident, PartitionAudit(*ident))
        stored = _check_object(store, key, start, manifests.get(key, {}), result)
        if stored is not None:
            by_partition.setdefault(ident, []).append(stored)
    for ident, objects in by_partition.items():
        _check_chain(store, audits[ident], sorted(objects, key=lambda item: item.start))
    return [audits[ident] for ident in sorted(audits)]


def _check_object(
    store: Store, key: str, start: int, manifest: dict[str, Any], result: PartitionAudit
) -> _Stored | None:
    """Check one data object and its dead letters against what its position record, its
    metadata or the run's manifest say of it; where it lies in the chain."""
    head = store.head(key)
    metadata = head.metadata if head and head.metadata else {}
    claim = read_position(store, result.topic, result.partition, start, prefix_of(key))
    stated = claim.next if claim else metadata.get(META_NEXT) or manifest.get("next")
    # Where the object's chain range ends, when its content cannot say (it is damaged).
    placed = _Stored(key, start, int(stated), None) if stated is not None else None
    expected = metadata.get(META_SHA256) or manifest.get("sha256")
    offsets = _offsets(store, key, expected, result)
    # The data object's own count is exact; a position record's is what its first writer saw,
    # more than a repair finds where compaction took dead letters that were never stored.
    exact = metadata.get(META_DEAD_LETTERS) or manifest.get("dead_letters")
    letters_expected = int(exact or (claim.dead_letters if claim else 0))
    letters: list[int] | None = []
    if letters_expected:
        companion = dead_letters_key(key)
        letters = _offsets(store, companion, manifest.get("dead_letters_sha256"), result)
        if letters is not None and exact is not None and len(letters) != letters_expected:
            result.missing_dead_letters.append(
                f"{key}: {letters_expected} counted, {len(letters)} in {companion}"
            )
    if offsets is None or letters is None:
        return placed
    taken = sorted(offsets + letters)
    if not taken and claim is not None and stated is not None:
        # A repair that found every record of its range compacted away: a link without lines.
        result.objects += 1
        return _Stored(key, start, int(stated), None)
    if not taken or taken != sorted(set(taken)) or taken[0] < start or offsets != sorted(offsets):
        result.content_errors.append(f"{key}: records out of order, twice, or before its start")
        return placed
    end = int(stated) if stated is not None else taken[-1] + 1
    # Only a repaired object (it has a position record) may end past its last record: where
    # compaction took the tail of its range before the repair read it.
    if end < taken[-1] + 1 or (claim is None and end != taken[-1] + 1):
        result.content_errors.append(f"{key}: it says next {end}, its records end at {taken[-1]}")
    result.objects += 1
    result.records += len(offsets)
    result.dead_letters += len(letters)
    gap_from = claim.gap_from if claim else metadata.get(META_GAP_FROM)
    return _Stored(key, start, end, int(gap_from) if gap_from is not None else None)


def _offsets(
    store: Store, key: str, expected_sha256: str | None, result: PartitionAudit
) -> list[int] | None:
    """The offsets an object holds, its hash checked; None (and the finding) when unreadable."""
    if store.head(key) is None:
        result.missing_dead_letters.append(f"{key} is missing")
        return None
    with store.open(key) as raw:
        body = raw.read()
    if expected_sha256 and expected_sha256 != hashlib.sha256(body).hexdigest():
        result.hash_mismatches.append(key)
    offsets = []
    try:
        for record in stored_records(key, io.BytesIO(body)):
            if (record.topic, record.partition) != (result.topic, result.partition):
                raise ValueError(f"holds a record of {record.topic}:{record.partition}")
            offsets.append(record.offset)
    except Exception as exc:  # any decoding failure is the same finding: unreadable content
        result.content_errors.append(f"{key}: {exc}")
        return None
    return offsets


def _check_chain(store: Store, result: PartitionAudit, objects: list[_Stored]) -> None:
    checkpoint = read_checkpoint(store, result.topic, result.partition)
    accepted = {tuple(gap) for gap in (checkpoint.gaps if checkpoint else ())}
    result.first_offset = objects[0].start
    position = objects[0].start
    for item in objects:
        if item.start > position:
            gap = [position, item.start]
            known = tuple(gap) in accepted or item.gap_from == position
            (result.known_gaps if known else result.gaps).append(gap)
        elif item.start < position:
            result.overlaps.append([item.start, position])
        position = max(position, item.next)
    result.end_offset = position


def report(audits: list[PartitionAudit]) -> dict[str, Any]:
    return {
        "healthy": all(item.healthy for item in audits),
        "partitions": [asdict(item) | {"healthy": item.healthy} for item in audits],
    }
