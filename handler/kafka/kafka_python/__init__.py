"""kafka-python, the default client: imported only from this folder."""
