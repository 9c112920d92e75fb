"""confluent-kafka on librdkafka (the librdkafka extra): imported only from this folder."""
