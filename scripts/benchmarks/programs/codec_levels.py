"""The codecs alone, at each level: MB/s of one core and the compression ratio, on a workload's
payload lines, compressed as Kafka Beat does (handler.format.compression, 256 KiB chunks into
one stream per object).

Run as a script by benchmarks.runs with one argument, JSON: payload (a file of lines), bytes
(at most this much of it), levels (a list of [codec, level]). Prints one JSON line:
a list of {codec, level, mb_per_second, ratio, cpu_seconds}.
"""

import json
import sys
import time

from handler.format.compression import CODECS

CHUNK_BYTES = 256 * 1024  # handler/chain/builder.py's _CHUNK_BYTES
OBJECT_BYTES = 64 * 1024 * 1024  # one object's worth, then a fresh compressor

config = json.loads(sys.argv[1])
with open(config["payload"], "rb") as handle:
    text = handle.read()
# Not repeated to a size: a repeat within zstd's window would flatter its ratio.
data = text[: config["bytes"]] + b"\n"
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
