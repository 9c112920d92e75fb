"""Kafka as the source: the only subpackage that imports kafka-python."""
