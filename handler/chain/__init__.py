"""The per-partition chain of create-only objects: links, the object builder, the writer,
checkpoints and dead letters."""
