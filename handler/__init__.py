"""Kafka Beat: moves events from Apache Kafka into object storage, exactly once."""

__version__ = "0.1.0"
