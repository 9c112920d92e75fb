"""Settings and secrets: everything a run is told, validated before Kafka is touched."""
