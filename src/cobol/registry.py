"""Registries that let layers plug into the engine without editing it.

A *transform* turns one raw block into a list of streams plus a few bytes of
parameters, and back. The engine records the transform's id and parameters in
the block (the block's *plan*), so decoding needs no configuration: it looks the
id up here. An *entropy codec* turns one stream into stored bytes and back.

Adding a layer = writing a :class:`Transform` subclass in ``cobol/layers/``,
decorating it with :func:`register_transform`, and declaring it in
:data:`BUILTIN_TRANSFORMS` below (id, name, module, formats; a plug-in calls
:func:`declare_transform`). Declared modules are imported on first use: decoding a block imports
the module of its transform id, planning a block those of its format's
candidates, so a run compiles and loads only the Numba kernels it uses.

Ids are part of the file format (docs/FORMAT.md): never reuse or renumber one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .errors import UnsupportedError

#: what every block may decode to beyond its transform's expansion x raw_len
#: (params-sized tables, headers of small streams); docs/FORMAT.md "Memory bound"
DECODED_SLACK = 64 << 10
#: spare bytes after every output buffer a transform decodes into
#: (``Transform.decode_into``): the kernels copy in 16-byte moves and may write up
#: to 15 bytes past the block's end (``layers.primitives.COPY_SLACK`` is this)
OUTPUT_SLACK = 16
#: the most streams any block holds (also the frame reader's cap, format.frame.MAX_STREAMS)
MAX_BLOCK_STREAMS = 4096

#: Layer switches a user can turn off (``CobolEngine(layers={"l1": False})``).
#: "ppmd": the PPMd entropy codec at levels >= 19 (slow decode; entropy.py).
LAYER_NAMES = ("l1", "l2", "l3", "l4", "ppmd")


@dataclass(frozen=True)
class BrotliCoding:
    """How the planner codes a block's streams with brotli (plan.brotli_quality,
    plan.small_brotli_budget), for a transform that prices alternative stream
    layouts with it: the streams with the most coded bytes first, while their
    decoded sizes add up to at most ``budget`` bytes (a stream over what is
    left is skipped and the next tried), are coded at ``strong_quality``, the
    others at ``quality`` (budget 0: all at ``quality``)."""

    quality: int
    strong_quality: int = 0
    budget: int = 0


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
    #: True when the caller decodes whatever it stores of this output and
    #: compares it with the block first (the planner's round-trip check,
    #: ``CobolEngine(verify=True)``, the default): a transform may then leave
    #: its hash-collision checks (two different keys, one 64-bit hash) to that
    #: round trip, where a collision costs the block its transform, not data.
    #: False (every other caller): the transform checks for itself.
    verified: bool = False
    #: how the planner will code this block's streams with brotli (None: not
    #: at all, or not said); set by plan.choose_plan for the transforms'
    #: layout trials. A transform must not depend on it for correctness.
    brotli: BrotliCoding | None = None
    #: True when the planner runs the transform on a sample of the block only to
    #: compare its size with other candidates' (plan._sampled_candidates): the
    #: output is never stored, so a transform may skip trials of its own whose
    #: choice moves that size little (the log transform's variable layout)
    size_only: bool = False


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
    #: PPMd model orders the transform's streams are also tried with at levels
    #: below entropy.PPMD_MIN_LEVEL (where the level's own coders have none):
    #: for transforms whose text streams PPMd codes far smaller than zstd
    #: (the log transform's skeletons: 15-27% on unseen logs)
    ppmd_orders: tuple | None = None
    #: streams the transform already compressed with the engine's own plain zstd
    #: (``entropy.thread_compressor(level)``): {stream index: (level, frame)}. The
    #: planner takes such a frame instead of compressing the stream again where it
    #: would code it that way (same level, no dictionary, no ppmd): same bytes, one
    #: compression less (the numeric transform's long-match probe makes one)
    zstd_frames: dict | None = None


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

    ``decode_into`` is the same with the output given: the engine hands every
    block its span of the frame's one output buffer (``raw_len`` bytes plus
    OUTPUT_SLACK spare ones) and the transform writes the block there, with no
    ``bytes`` of its own and no copy. A transform defines either or both; each
    default goes through the other.
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
    #: declines every block when the frame has no shared dictionary; the
    #: planner does not try it then
    needs_dictionary: ClassVar[bool] = False
    #: the most streams one block of this transform holds; the engine checks a
    #: block's stream table against it before it decodes any stream
    max_streams: ClassVar[int] = MAX_BLOCK_STREAMS
    #: the decoded streams of one block hold at most expansion x raw_len +
    #: DECODED_SLACK bytes in all (checked against the stream table before any
    #: stream is decoded; the planner drops a candidate whose output exceeds it)
    expansion: ClassVar[int] = 16

    def decoded_limit(self, params: bytes, raw_len: int) -> int:
        """The most bytes the decoded streams of one block may hold in all."""
        return self.expansion * raw_len + DECODED_SLACK

    @abstractmethod
    def encode(self, data: bytes, ctx: EncodeContext) -> Encoded | None: ...

    def decode(self, streams: list, params: bytes, raw_len: int, ctx: DecodeContext) -> bytes:
        """The block as ``bytes``. A transform overrides this, :meth:`decode_into`, or both."""
        from .outbuf import build
        return build(raw_len, OUTPUT_SLACK, lambda out: self.decode_into(streams, params, raw_len, ctx, out))

    def decode_into(self, streams: list, params: bytes, raw_len: int, ctx: DecodeContext, out) -> None:
        """Decode the block into ``out[:raw_len]``: ``out`` is a writable uint8
        NumPy array of ``raw_len + OUTPUT_SLACK`` bytes, whose slack the decoder
        may overwrite (it belongs to the next block or to nobody). The engine
        decodes every block this way, straight into the frame's output; the
        default calls :meth:`decode` and copies."""
        raw = self.decode(streams, params, raw_len, ctx)
        if len(raw) != raw_len:
            from .errors import FormatError
            raise FormatError(f"decoded to {len(raw)} bytes, header says {raw_len}")
        out[:raw_len] = memoryview(raw).cast("B")

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


@dataclass(frozen=True)
class Declared:
    """A transform known by id before its module is imported."""

    id: int
    name: str
    #: absolute module name whose import registers it
    module: str
    #: the transform's ``formats`` (checked when it registers)
    formats: tuple


_DECLARED: dict[int, Declared] = {}
_TRANSFORMS: dict[int, Transform] = {}
_TRANSFORMS_BY_NAME: dict[str, Transform] = {}
_CODECS: dict[int, EntropyCodec] = {}
_CODECS_BY_NAME: dict[str, EntropyCodec] = {}


def declare_transform(tid: int, name: str, module: str, formats: tuple = ()) -> None:
    """Name the module that registers transform ``tid``, imported on first use
    (:func:`get_transform`, :func:`transform_by_name`, :func:`candidates_for`)."""
    if not 0 <= tid <= 255:
        raise ValueError(f"transform id {tid} out of range")
    known = _DECLARED.get(tid)
    if known is not None and known.module != module:
        raise ValueError(f"transform id {tid} already declared by {known.module}")
    _DECLARED[tid] = Declared(tid, name, module, tuple(formats))


#: declared modules whose import has finished
_LOADED: set = set()


def _load(decl: Declared) -> None:
    """Import ``decl``'s module unless that has finished. Not "unless the id is
    registered": the id registers while the module is still executing, and a
    block on another thread must not use the transform before the rest of its
    module exists (import_module waits for another thread's import)."""
    if decl.module in _LOADED:
        return
    import importlib
    importlib.import_module(decl.module)
    if decl.id not in _TRANSFORMS:
        raise ValueError(f"{decl.module} did not register transform {decl.id} ({decl.name})")
    _LOADED.add(decl.module)


def register_transform(cls):
    if cls.decode is Transform.decode and cls.decode_into is Transform.decode_into:
        raise TypeError(f"transform {cls.__name__} must define decode or decode_into")
    inst = cls()
    if not 0 <= cls.id <= 255:
        raise ValueError(f"transform id {cls.id} out of range")
    decl = _DECLARED.get(cls.id)
    if decl is not None and (decl.name, decl.formats) != (cls.name, tuple(cls.formats)):
        # the planner picks modules to import by the declared formats: they must not drift
        raise ValueError(f"transform {cls.id} registers as {cls.name!r} for {cls.formats}, "
                         f"declared as {decl.name!r} for {decl.formats}")
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
    if tid in _DECLARED:
        _load(_DECLARED[tid])
    try:
        return _TRANSFORMS[tid]
    except KeyError:
        raise UnsupportedError(f"unknown transform id {tid}") from None


def transform_by_name(name: str) -> Transform:
    for decl in list(_DECLARED.values()):
        if decl.name == name:
            _load(decl)
    try:
        return _TRANSFORMS_BY_NAME[name]
    except KeyError:
        raise UnsupportedError(
            f"unknown plan {name!r}; known: {', '.join(sorted(set(_TRANSFORMS_BY_NAME) | {d.name for d in _DECLARED.values()}))}"
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
    """Every transform, declared ones imported."""
    for decl in list(_DECLARED.values()):
        _load(decl)
    return sorted(_TRANSFORMS.values(), key=lambda t: t.id)


def candidates_for(fmt: str, level: int, layers: frozenset) -> list[Transform]:
    """Format-specific transforms the planner may try, best first. Imports the
    declared modules of ``fmt``'s transforms only."""
    for decl in list(_DECLARED.values()):
        if fmt in decl.formats or "*" in decl.formats:
            _load(decl)
    out = [
        t for t in _TRANSFORMS.values()
        if (fmt in t.formats or "*" in t.formats)
        and level >= t.min_level
        and t.needs_layers <= layers
    ]
    out.sort(key=lambda t: (-t.priority, t.id))
    return out


#: (id, name, module, formats) of the transforms that ship with cobol; each
#: module registers its transform when imported, and formats must equal the
#: class's ``formats`` (register_transform checks).
BUILTIN_TRANSFORMS = (
    (0, "raw", "cobol.layers.raw", ()),
    (1, "bundle", "cobol.layers.bundle", ()),
    (10, "numeric", "cobol.layers.numeric", ("numeric", "binary")),
    (11, "numeric-small", "cobol.layers.numeric_small", ()),
    (20, "csv", "cobol.layers.l2_csv", ("csv", "tsv")),
    (30, "json", "cobol.layers.l2_json", ("json", "jsonl")),
    (31, "json-dict", "cobol.layers.json_dict", ("json", "jsonl")),
    (40, "xml", "cobol.layers.l2_markup", ("xml",)),
    (41, "html", "cobol.layers.l2_markup", ("html",)),
    (50, "l1", "cobol.layers.l1_semantic", ("text", "log")),
    (60, "log", "cobol.layers.l2_log", ("log", "jsonl", "text")),
)

for _declared in BUILTIN_TRANSFORMS:
    declare_transform(*_declared)
del _declared
