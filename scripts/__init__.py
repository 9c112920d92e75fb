"""The development package: the local Kafka broker (`kafka_broker.py`), the store emulators
(`emulators.py`) and the benchmark (`benchmarks/`), importable from the repository root as
`scripts.*` by the tests and by each other. Never shipped: the `kafka-beat` package is
`handler/` alone."""
