"""The codecs alone, at each level: MB/s of one core and the compression ratio, on a workload's
payload lines in Kafka Beat's envelope (what a run compresses), compressed as Kafka Beat does
(handler.format.compression, 256 KiB chunks into one stream per object).

Run as a script by benchmarks.runs with one argument, JSON: payload (a file of lines), bytes
(at most this much of envelope lines), levels (a list of [codec, level]). Prints one JSON line:
a list of {codec, level, mb_per_second, ratio, cpu_seconds}.
"""

import json
import sys
import time

from handler.format.compression import CODECS
from handler.format.envelope import encode_record
from handler.record import Record

CHUNK_BYTES = 256 * 1024  # handler/chain/builder.py's _CHUNK_BYTES
OBJECT_BYTES = 64 * 1024 * 1024  # one object's worth, then a fresh compressor

config = json.loads(sys.argv[1])
with open(config["payload"], "rb") as handle:
    values = handle.read().splitlines()
# Each payload line once, as 8 partitions' records a millisecond apart; not repeated to a size,
# as a repeat within zstd's window would flatter its ratio.
lines = []
size = 0
started_ms = 1_764_547_200_000
for index, value in enumerate(values):
    record = Record(
        "kafka-beat-bench", index % 8, index // 8, started_ms + index, "create", None, value
    )
    lines.append(encode_record(record))
    size += len(lines[-1])
    if size >= config["bytes"]:
        break
data = b"".join(lines)
chunks = [data[i : i + CHUNK_BYTES] for i in range(0, len(data), CHUNK_BYTES)]
results = []
for codec_name, level in config["levels"]:
    codec = CODECS[codec_name]
    stored = 0
    started_cpu = time.process_time()
    started = time.perf_counter()
    compressor = codec.compressor(level)
    in_object = 0
    for chunk in chunks:
        stored += len(compressor.compress(chunk))
        in_object += len(chunk)
        if in_object >= OBJECT_BYTES:
            stored += len(compressor.flush())
            compressor, in_object = codec.compressor(level), 0
    stored += len(compressor.flush())
    seconds = time.perf_counter() - started
    results.append(
        {
            "codec": codec_name,
            "level": level,
            "mb_per_second": round(len(data) / 1e6 / seconds, 1),
            "ratio": round(len(data) / stored, 2),
            "cpu_seconds": round(time.process_time() - started_cpu, 3),
        }
    )
print(json.dumps(results))
