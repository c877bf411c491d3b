"""Registries that let layers plug into the engine without editing it.

A *transform* turns one raw block into a list of streams plus a few bytes of
parameters, and back. The engine records the transform's id and parameters in
the block (the block's *plan*), so decoding needs no configuration: it looks the
id up here. An *entropy codec* turns one stream into stored bytes and back.

Adding a layer = writing a :class:`Transform` subclass in ``cobol/layers/`` and
decorating it with :func:`register_transform`; ``cobol/layers/__init__.py``
imports the module so the registration runs.

Ids are part of the file format (docs/FORMAT.md): never reuse or renumber one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .errors import UnsupportedError

#: Layer switches a user can turn off (``CobolEngine(layers={"l1": False})``).
#: "ppmd": the PPMd entropy codec at levels >= 19 (slow decode; entropy.py).
LAYER_NAMES = ("l1", "l2", "l3", "l4", "ppmd")


@dataclass
class EncodeContext:
    """What a transform may know when it encodes a block.

    The accelerator backend is not a field: the engine installs it for the
    block through :func:`cobol.layers.batch_kernels.using`, the one channel the
    layers read it from."""

    level: int = 3
    #: enabled layer switches, a subset of LAYER_NAMES
    layers: frozenset = frozenset(LAYER_NAMES)
    #: detected format of the block ("json", "csv", "numeric", ...)
    fmt: str = "binary"
    #: user hints, e.g. {"dtype": "int32"}
    hints: dict = field(default_factory=dict)
    #: shared dictionary object (see the JSON issue) or None
    dictionary: Any = None
    #: profiler or None; transforms may call profiler.record(...) if present
    profiler: Any = None


@dataclass
class DecodeContext:
    dictionary: Any = None
    profiler: Any = None


@dataclass
class Encoded:
    """A transform's output for one block."""

    params: bytes
    streams: list
    #: optional human names of the streams, same length as streams (for --list -v, profiler)
    stream_names: list | None = None
    #: the lowest zstd level the transform wants its streams coded at (None: the
    #: block's level); for transforms whose streams are much smaller than the block,
    #: where a stronger level costs little time (the log transform)
    min_stream_level: int | None = None


class Transform(ABC):
    """One block-level transform (a plan). Subclasses set the class attributes.

    ``encode`` returns None when it cannot model the block (the engine then
    falls back to the next candidate); it must never produce output that does
    not decode back to exactly ``data``.

    ``decode`` receives the *entropy-decoded* streams (``bytes``) and must treat
    them and ``params`` as hostile: validate every count and length before use
    and raise a :class:`~cobol.errors.CobolError` subclass (usually FormatError)
    on anything inconsistent. Numba kernels do no bounds checks, so validate
    before calling them. It must return exactly ``raw_len`` bytes.
    """

    id: ClassVar[int]
    name: ClassVar[str]
    #: detected formats this transform is a candidate for; "*" = any
    formats: ClassVar[tuple] = ()
    #: the lowest compression level at which the planner tries it
    min_level: ClassVar[int] = 1
    #: layer switches it needs; disabled switch => not a candidate
    needs_layers: ClassVar[frozenset] = frozenset()
    #: higher runs first among candidates for the same format
    priority: ClassVar[int] = 0

    @abstractmethod
    def encode(self, data: bytes, ctx: EncodeContext) -> Encoded | None: ...

    @abstractmethod
    def decode(self, streams: list, params: bytes, raw_len: int, ctx: DecodeContext) -> bytes: ...

    def describe(self, params: bytes) -> str:
        """A short human description of a recorded plan (for ``cobol --list -v``)."""
        return self.name


class EntropyCodec(ABC):
    id: ClassVar[int]
    name: ClassVar[str]

    @abstractmethod
    def encode(self, data, level: int, dictionary: bytes | None = None) -> bytes: ...

    @abstractmethod
    def decode(self, data, decoded_len: int, dictionary: bytes | None = None) -> bytes: ...


_TRANSFORMS: dict[int, Transform] = {}
_TRANSFORMS_BY_NAME: dict[str, Transform] = {}
_CODECS: dict[int, EntropyCodec] = {}
_CODECS_BY_NAME: dict[str, EntropyCodec] = {}


def register_transform(cls):
    inst = cls()
    if not 0 <= cls.id <= 255:
        raise ValueError(f"transform id {cls.id} out of range")
    if cls.id in _TRANSFORMS and type(_TRANSFORMS[cls.id]) is not cls:
        raise ValueError(f"transform id {cls.id} already used by {_TRANSFORMS[cls.id].name}")
    _TRANSFORMS[cls.id] = inst
    _TRANSFORMS_BY_NAME[cls.name] = inst
    return cls


def register_codec(cls):
    inst = cls()
    if cls.id in _CODECS and type(_CODECS[cls.id]) is not cls:
        raise ValueError(f"codec id {cls.id} already used by {_CODECS[cls.id].name}")
    _CODECS[cls.id] = inst
    _CODECS_BY_NAME[cls.name] = inst
    return cls


def get_transform(tid: int) -> Transform:
    try:
        return _TRANSFORMS[tid]
    except KeyError:
        raise UnsupportedError(f"unknown transform id {tid}") from None


def transform_by_name(name: str) -> Transform:
    try:
        return _TRANSFORMS_BY_NAME[name]
    except KeyError:
        raise UnsupportedError(
            f"unknown plan {name!r}; known: {', '.join(sorted(_TRANSFORMS_BY_NAME))}"
        ) from None


def get_codec(cid: int) -> EntropyCodec:
    try:
        return _CODECS[cid]
    except KeyError:
        raise UnsupportedError(f"unknown entropy codec id {cid}") from None


def codec_by_name(name: str) -> EntropyCodec:
    try:
        return _CODECS_BY_NAME[name]
    except KeyError:
        raise UnsupportedError(f"unknown entropy codec {name!r}") from None


def all_transforms() -> list[Transform]:
    return sorted(_TRANSFORMS.values(), key=lambda t: t.id)


def candidates_for(fmt: str, level: int, layers: frozenset) -> list[Transform]:
    """Format-specific transforms the planner may try, best first."""
    out = [
        t for t in _TRANSFORMS.values()
        if (fmt in t.formats or "*" in t.formats)
        and level >= t.min_level
        and t.needs_layers <= layers
    ]
    out.sort(key=lambda t: (-t.priority, t.id))
    return out
