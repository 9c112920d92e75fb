"""What every partition's chain writer in one run shares: the object format, rotation, shape."""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass

from handler.chain.builder import Rotation
from handler.chain.positions import Shape
from handler.chain.uploads import UploadPool
from handler.config.registry_settings import REGISTRY_FORMATS
from handler.config.settings import Settings
from handler.errors import ChainError
from handler.format.bodies import JsonLines, ObjectFormat, Parquet, format_of_extension
from handler.format.compression import CODECS
from handler.format.envelope import Encoder
from handler.format.layout import parse_object_name
from handler.format.native import BatchEncoder, chosen_encoder
from handler.format.reading import EXTENSIONS
from handler.format.registered import SchemaDecoder


@dataclass(frozen=True)
class ChainConfig:
    """What every partition's writer in one run shares."""

    format: ObjectFormat
    rotation: Rotation
    shape: Shape
    encoder: Encoder
    uploads: UploadPool | None = None
    """Stores sealed objects off the consuming thread; None: on it."""
    batch_encoder: BatchEncoder | None = None
    """Encodes a whole poll batch natively, for objects of JSON lines; None: `encoder` encodes
    each record."""
    schemas: SchemaDecoder | None = None
    """Decodes keys and values in a Schema Registry's wire format; None: no format needs it."""

    @classmethod
    def from_settings(
        cls, settings: Settings, worker: Executor | None = None, uploads: UploadPool | None = None
    ) -> ChainConfig:
        """`worker`: compresses JSON lines and writes Parquet row groups off the consuming
        thread; `uploads`: stores objects off it; None: on the consuming thread."""
        shape = Shape(
            settings.key_format, settings.value_format, settings.time_field, settings.on_invalid
        )
        chosen: ObjectFormat
        if settings.format == "parquet":
            chosen = Parquet(
                settings.compression,
                settings.compression_level,
                settings.parquet_columns(),
                worker,
            )
        else:
            chosen = JsonLines(CODECS[settings.compression], settings.compression_level, worker)
        schemas = None
        # With the registry's URL set, a crashed run's object claimed under a registry format
        # is rebuilt as claimed even when this run's formats are others.
        if uses_registry(shape) or settings.schema_registry_url:
            from handler.registry.client import Registry
            from handler.registry.decoder import RegistryDecoder

            schemas = RegistryDecoder(Registry(settings))
        batch = None
        # The native encoder reads no registry format: the Python one decodes those.
        if chosen_encoder(settings.encoder) == "native" and schemas is None:
            parquet = None
            if settings.format == "parquet":
                parquet = tuple((f.field, f.type) for f in settings.parquet_columns())
            batch = BatchEncoder(shape.key_format, shape.value_format, shape.time_field, parquet)
        return cls(
            chosen,
            Rotation(settings.max_object_records, settings.max_object_bytes),
            shape,
            encoder_for(shape, schemas),
            uploads,
            batch,
            schemas,
        )

    @property
    def encoder_name(self) -> str:
        """What encodes the run's records, for its summary: native or python."""
        return "python" if self.batch_encoder is None else "native"

    def extensions(self) -> list[str]:
        """Every format's and codec's name, the configured one first: a crashed run may have
        used another."""
        ours = self.format.extension
        return [ours, *(extension for extension in EXTENSIONS if extension != ours)]

    def format_for_key(self, key: str) -> ObjectFormat:
        """The format to write the object at `key` in (a repair's recorded key, a companion's):
        this run's where the name matches it, else that name's format with its defaults."""
        parsed = parse_object_name(key)
        if parsed is None:
            raise ValueError(f"'{key}' is not a Kafka Beat object key")
        extension = parsed[3]
        return self.format if extension == self.format.extension else format_of_extension(extension)


def uses_registry(shape: Shape) -> bool:
    return shape.key_format in REGISTRY_FORMATS or shape.value_format in REGISTRY_FORMATS


def encoder_for(shape: Shape, schemas: SchemaDecoder | None) -> Encoder:
    """The encoder of `shape`; a crashed run's shape may name a registry format this run's
    settings do not (its object is rebuilt as it was claimed, so it needs the registry)."""
    if schemas is None and uses_registry(shape):
        raise ChainError(
            f"an object left at a chain position was claimed with key format {shape.key_format} "
            f"and value format {shape.value_format}: set KAFKA_BEAT_SCHEMA_REGISTRY_URL so this "
            "run can rebuild it"
        )
    return Encoder(shape.key_format, shape.value_format, shape.time_field, schemas)  # type: ignore[arg-type]
