"""Keys and values in a Schema Registry's wire format, decoded with the schemas their ids name:
the registry client (client.py), Avro (avro.py) and the decoder the encoder calls (decoder.py).
Imported only when a key or value format is avro, jsonschema or registry."""
