"""What a run tells: the report, metrics, logs and manifests."""
