"""L2 structural mapping for JSON and JSON lines (transform ``json``, id 30).

One block of bytes (a document, JSON lines, or any fragment of them, valid or
not) becomes a handful of homogeneous streams, which the engine then entropy
codes one by one:

``skeleton``
    one symbol per token in order: structural characters, value *types*
    (string, number, true, ...), keys as ids of a frequency-ordered
    :class:`StructuralDictionary` (1 byte for the 128 most frequent keys, 2 or 3
    bytes for the rest; keys seen fewer than 8 times are stored verbatim),
    and ``WS_DEV`` marks. A key's ``:`` is implied. Records of one shape give
    identical skeleton runs, which zstd reduces to almost nothing, so a JSON
    lines record costs little more than its values.
``ws``
    whitespace is *predicted* from the nesting depth and a per-block style
    (pretty or compact, newline, indent unit, ``": "``/``", "`` spacing, the
    depth at which a fragment starts). Only gaps that differ from the
    prediction are stored here (and marked ``WS_DEV`` in the skeleton), so
    pretty-printed input costs almost nothing.
``residue``
    every token that is not JSON (``NaN``, comments, a BOM, binary bytes,
    unterminated quotes) verbatim, so odd bytes cost only themselves.
``keys``
    the key dictionary (:meth:`StructuralDictionary.to_bytes`).
``numflags``
    one scale byte per number of the columns that need it.
``text:...`` (one per text group)
    string values (content between the quotes, escapes verbatim), numbers
    whose spelling does not print back exactly (``1e3``, ``1.5E-7``, ``-0``,
    huge integers) and verbatim keys, each ended by a ``"``. A group is one
    column or several columns whose values repeat each other within a record
    (an id inside a url and a title, a key that is also in a path): those are
    merged, values in document order, when a trial compression of a sample
    says so (from level 6; see :meth:`Layer2Encoder._text_groups`).
``colN:...ints`` (one per numeric column)
    numbers spelled ``-?(0|[1-9]d*)(.d+)?`` with at most 18 digits (not
    ``-0``) as int64 mantissas, scaled to the column's largest number of
    decimals when that fits, coded by :mod:`cobol.layers.intcodec`.
``colN:...dict`` / ``colN:...ids`` (per low-cardinality string column)
    the column's distinct strings (a :class:`StructuralDictionary`, most
    frequent first) and one id per string value (u8, or u16 LE beyond 256
    entries); see :meth:`Layer2Encoder._dictionary_columns`.
``colmap``
    the column of each distinct path, in order of first appearance.
``subtrees`` / ``refs`` (params version 2 only, right after ``numflags``)
    objects and arrays of 128+ bytes that repeat an earlier one byte for byte
    are cut out before the split and become one skeleton symbol plus an id:
    the decoder copies the earlier bytes (see :mod:`.subtrees`). String
    values of 64+ bytes that repeat an earlier one likewise (symbol
    ``S_REF_STR``, params version 3). Blocks without a repeat stay version 1.

Columns. A value's path is the sequence of keys and array positions from the
root (scalars at array index < 4 keep their index, so ``[lon, lat]`` pairs
split into two columns). Keys can be data (a map of thousands of names), so
the encoder tries full paths and path *shapes* -- suffixes of 1 to 4 keys,
generic array steps skipped -- and keeps the most specific one whose columns
of at least 32 values hold 95% of the values; at most 255 columns get their
own streams, rare paths share column 0. The decoder recomputes every path hash
from the skeleton, so column membership costs one byte per distinct path.

Anything goes: a block may start or end in the middle of a document (the
style records the indent level it starts at, unmatched closers are allowed, a
block cut inside a string stores the string's tail verbatim), and every byte
string round-trips.

Params (all varints unless noted): u8 version (1, or 2 with subtree references); u8 pretty, crlf, indent
byte, colon space, pre-colon space, comma space, path mode; indent width; base
depth; string tail length + the tail's bytes; distinct paths; columns; text
groups; per column: u8 flags (bit 0 text, bit 1 ints, bits 2-3 number mode:
0 integers, 1 scaled, 2 mantissa+scale, 3 none; bit 4 string dictionary),
then for number modes 1-2 a u8 scale and the count of scale bytes, then the
text group if bit 0; last, the text group of verbatim keys (= groups when
none). Streams: skeleton, ws, residue, keys, numflags, the text groups, per
column its ints, dict and ids when present, colmap.

>>> from cobol.registry import EncodeContext, DecodeContext
>>> data = b'{"a": 1, "b": [true, "x"]}\\n{"a": 2, "b": []}\\n'
>>> enc = Layer2Encoder().encode(data)
>>> Layer2Decoder().decode(enc.streams, enc.params, len(data)) == data
True
"""

# The layer lives in one module per idea (they import in this order, each only
# from those before it); every name the single-file module had is re-exported
# here, so ``from cobol.layers.l2_json import X`` keeps working.

from __future__ import annotations

from .symbols import (  # noqa: F401
    COVERAGE, C_ARR, C_NOKEY, C_ROOT, DICT_MIN_REPEAT, DICT_MIN_VALUES, DICT_TRIAL_GAIN, FLAG_RAW,
    GROUP_MAX_CANDIDATES, GROUP_MIN_BYTES, GROUP_MIN_GAIN, GROUP_MIN_LEVEL, GROUP_SAMPLE_BYTES,
    GROUP_TRIAL_LEVEL, G_COLON, G_COMMA, G_EMPTY, G_NEWLINE, KEY1_BASE, KEY2_BASE, KEY2_FIRST, KEY3,
    KEY3_FIRST, K_END, K_INVALID, K_START, MAX_COLUMNS, MAX_PATH_DEPTH, MAX_SCALE, MIN_COLUMN_VALUES,
    MIN_DICT_COUNT, MODE_FULL, NUM_INT, NUM_PLAIN, NUM_SCALED, N_MODES, PARAMS_VERSION, POSITIONAL,
    RESIDUE_TERM, ST_BASE_DEPTH, ST_COLON_WS, ST_COMMA_WS, ST_CRLF, ST_INDENT_CHAR, ST_INDENT_WIDTH,
    ST_PRETTY, ST_PRE_COLON_WS, ST_SIZE, SYMBOL_KIND, S_ARR_CLOSE, S_ARR_OPEN, S_COLON, S_COMMA, S_END,
    S_FALSE, S_KEY_LITERAL, S_NULL, S_NUMBER, S_OBJ_CLOSE, S_OBJ_OPEN, S_RESIDUE, S_STRING, S_TRUE, S_WS_DEV,
    S_WS_DEV_KEY, TEXT_TERM, WS_TERM, _ERRORS, _symbol_kinds,
)
from .paths import (  # noqa: F401
    _child_comp, _child_path, _h32, _mix, _new_stack, _open_frame, _path_hash, _pop_container, _suffix_hash,
)
from .keys import (  # noqa: F401
    _first_appearance, _first_appearance_kernel, _fnv, _intern_keys, _intern_spans, _intern_spans_kernel,
    _key_hashes, _table_sizes,
)
from .whitespace import (  # noqa: F401
    G_LEVEL, G_LEVEL_M1, _gap_len, _gap_rule, _gap_table, _is_close, _is_open, _resolve_gap, _style_stats,
    _style_fields, detect_style, gap_table,
)
from .columns import (  # noqa: F401
    _drop_terms, _gather_spans, _group_order, _scatter_text,
)
from .numbers import (  # noqa: F401
    _number_columns, _number_values, _parse_numbers,
)
from .encode_walk import (  # noqa: F401
    _walk_encode,
)
from .decode_walk import (  # noqa: F401
    _copy_until, _walk_decode,
)
from .subtrees import (  # noqa: F401
    MIN_STRING_REF_BYTES, MIN_STRING_REF_FLOOR, MIN_SUBTREE_BYTES, SubtreeRefs, decode_subtree_streams,
    find_repeated_subtrees,
)
from .transform import (  # noqa: F401
    JsonTransform, Layer2Decoder, Layer2Encoder, NestingLevelTracker, _choose_mode, _column_names,
    _first_unescaped_quote, _residue_bytes, string_tail_length,
)

from .. import json_dict  # noqa: E402,F401  (registers transform 31, json-dict)
