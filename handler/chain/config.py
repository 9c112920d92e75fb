"""What every partition's chain writer in one run shares: codec, rotation, and the shape."""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass

from handler.chain.builder import Rotation
from handler.chain.positions import Shape
from handler.config.settings import Settings
from handler.format.compression import CODECS, Codec
from handler.format.envelope import Encoder


@dataclass(frozen=True)
class ChainConfig:
    """What every partition's writer in one run shares."""

    codec: Codec
    level: int | None
    rotation: Rotation
    shape: Shape
    encoder: Encoder
    worker: Executor | None = None
    """Compresses objects' chunks off the consuming thread; None: inline."""

    @classmethod
    def from_settings(cls, settings: Settings, worker: Executor | None = None) -> ChainConfig:
        shape = Shape(
            settings.key_format, settings.value_format, settings.time_field, settings.on_invalid
        )
        return cls(
            CODECS[settings.compression],
            settings.compression_level,
            Rotation(settings.max_object_records, settings.max_object_bytes),
            shape,
            encoder_for(shape),
            worker,
        )

    def extensions(self) -> list[str]:
        """Every codec's name, the configured one first: a crashed run may have used another."""
        others = [codec.extension for codec in CODECS.values() if codec is not self.codec]
        return [self.codec.extension, *others]


def encoder_for(shape: Shape) -> Encoder:
    return Encoder(shape.key_format, shape.value_format, shape.time_field)  # type: ignore[arg-type]
