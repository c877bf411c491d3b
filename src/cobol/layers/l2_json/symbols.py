"""Constants of the JSON layer: skeleton symbols, stream terminators, pseudo token
kinds, gap codes, style slots, path-hashing constants, size limits and the
decoder's error messages (see the package docstring for the byte layout)."""

from __future__ import annotations

import numpy as np

from .. import json_tokenizer as jt


PARAMS_VERSION = 1
PARAMS_VERSION_REFS = 2  # version 1 + the ``subtrees`` and ``refs`` streams (see subtrees.py)
PARAMS_VERSION_STR_REFS = 3  # version 2 + string value references (``S_REF_STR``) in the skeleton
#: or-ed into the version byte (of any of the three): the text groups are coded
#: by the L1 word layer (a ``words`` stream before them, their decoded sizes at
#: the end of the params; see transform.Layer2Encoder._word_code)
PARAMS_WORDS = 0x80

# ---------------------------------------------------------------- skeleton symbols
S_WS_DEV = 1       # the gap before the next token is stored in the ws stream
S_WS_DEV_KEY = 2   # the gap between the key just emitted and its colon is stored
S_END = 3
S_OBJ_OPEN = 4
S_OBJ_CLOSE = 5
S_ARR_OPEN = 6
S_ARR_CLOSE = 7
S_COLON = 8        # a colon that does not follow a key
S_COMMA = 9
S_STRING = 10
S_NUMBER = 11
S_TRUE = 12
S_FALSE = 13
S_NULL = 14
S_RESIDUE = 15
S_KEY_LITERAL = 16
S_REF_OBJ = 17     # a repeated object: the next id of the refs stream (version 2 only)
S_REF_ARR = 18     # a repeated array: likewise
S_REF_STR = 19     # a repeated string value: likewise (version 3 only)
KEY1_BASE = 0x40   # 0x40..0xBF: key ids 0..127
KEY2_BASE = 0xC0   # 0xC0..0xFE + 1 byte: key ids 128..16255
KEY3 = 0xFF        # + 2 bytes (big endian): key ids 16256..81791
KEY2_FIRST = 128
KEY3_FIRST = 128 + 63 * 256

WS_TERM = 124      # '|' ends each stored gap in the ws stream
RESIDUE_TERM = 10  # residue words never contain LF
TEXT_TERM = 34     # '"' ends each text item (content never holds an unescaped quote)

# pseudo token kinds for the gap predictor
K_START = 14
K_END = 15
K_INVALID = 255


def _symbol_kinds():
    t = np.full(256, K_INVALID, np.uint8)
    for sym, kind in ((S_END, K_END), (S_OBJ_OPEN, jt.OBJ_OPEN), (S_OBJ_CLOSE, jt.OBJ_CLOSE),
                      (S_ARR_OPEN, jt.ARR_OPEN), (S_ARR_CLOSE, jt.ARR_CLOSE), (S_COLON, jt.COLON),
                      (S_COMMA, jt.COMMA), (S_STRING, jt.STRING), (S_NUMBER, jt.NUMBER),
                      (S_TRUE, jt.TRUE), (S_FALSE, jt.FALSE), (S_NULL, jt.NULL),
                      (S_RESIDUE, jt.RESIDUE), (S_KEY_LITERAL, jt.KEY),
                      (S_REF_OBJ, jt.OBJ_OPEN), (S_REF_ARR, jt.ARR_OPEN), (S_REF_STR, jt.STRING)):
        t[sym] = kind
    t[KEY1_BASE:] = jt.KEY
    return t


#: skeleton symbol -> token kind (K_INVALID for symbols that cannot start a token)
SYMBOL_KIND = _symbol_kinds()

# gap predictions
G_EMPTY = 0
G_NEWLINE = 1      # newline + indent * level
G_COLON = 2
G_COMMA = 3

# style array slots
ST_PRETTY = 0
ST_CRLF = 1
ST_INDENT_CHAR = 2
ST_INDENT_WIDTH = 3
ST_COLON_WS = 4
ST_PRE_COLON_WS = 5
ST_COMMA_WS = 6
ST_BASE_DEPTH = 7
ST_SIZE = 8

# path hashing
MODE_FULL = 0      # column key = full path; 1..4 = suffix of that many keys
N_MODES = 5
POSITIONAL = 4     # scalars at array index < POSITIONAL keep the index in their path
MAX_PATH_DEPTH = 64
C_ROOT = np.int64(0x5EED0001)
C_NOKEY = np.int64(0x5EED0002)
C_ARR = np.int64(0x5EED0010)  # + 1 + index for positional scalars

MIN_DICT_COUNT = 8  # rarer keys are stored verbatim (they are data more than schema)
MIN_COLUMN_VALUES = 32
DICT_MIN_VALUES = 32       # dictionary-coded string columns: at least this many strings
DICT_MIN_REPEAT = 4        # ... and each distinct value seen this often on average
DICT_TRIAL_GAIN = 0.9      # ... and (trial) ids + dictionary under 90% of the text
DICT_SAMPLE_BYTES = 1 << 17   # below level 6 blocks with at most this much string text get the in-context trial
DICT_TRIAL_MIN_VALUES = 32    # ... which takes a column with fewer values without a trial
DICT_STREAM_OVERHEAD = 24     # two more streams: their table entries (12 bytes) and coder framing
GROUP_MIN_LEVEL = 6        # text grouping by trial compression from this level up
GROUP_MIN_BYTES = 2048     # smaller text columns are not worth a trial
GROUP_MAX_CANDIDATES = 12
GROUP_SAMPLE_BYTES = 1 << 18
#: the pairwise grouping trial (levels >= GROUP_MIN_LEVEL) compresses every
#: candidate pair's text on this much of the block's text: at 256 KiB (the
#: one-stream trial's sample) it picked worse groups and cost more. 35 JSON /
#: JSON lines files (dev, unseen, /tmp/jl8, jr5 tune + check; 2 MB cuts) at
#: level 6: 2,124,428 -> 2,122,120 bytes (cfn-lint schemas and IAM actions,
#: node API methods, MDN compat data 0.3-0.8% smaller, none larger); level 9
#: 1,864,999 -> 1,863,461 (one file +0.01%); 64 KiB: -0.09% at level 6.
GROUP_PAIR_SAMPLE_BYTES = 1 << 17
GROUP_TRIAL_LEVEL = 3
GROUP_MIN_GAIN = 0.02
GROUP_CONFIRM_BAND = 0.04  # a one-text-stream zstd win this close to the margin is confirmed with brotli
GROUP_CONFIRM_BYTES = 1 << 15  # ... on this much of the sample
GROUP_CONFIRM_QUALITY = 5
#: the text-layout trial prices a stream that the planner codes again at
#: EncodeContext.brotli.strong_quality (10, within its budget) this fraction
#: smaller than at the block's own quality (6-9): brotli 10 on the JSON
#: transform's text streams of 12 JSON and JSON lines files was 0.91-0.95x
#: brotli 8 (word-coded documentation 0.91-0.93, names and ids 0.93-0.95;
#: Levenshtein's word pairs 0.85), and qualities 6, 8 and 9 were within 1%
#: of each other (the gain is quality 10's optimal parse)
STRONG_QUALITY_GAIN = 0.07
PROSE_MIN_SPACES = 0.05    # below GROUP_MIN_LEVEL: a text column with this share of spaces is prose
WORDS_MIN_TEXT = 4096      # text groups word-coded (L1) only with at least this much text
WORDS_SAMPLE_BYTES = 1 << 17   # ... when brotli at WORDS_TRIAL_QUALITY on this much of it
WORDS_TRIAL_QUALITY = 4
WORDS_MAX_RATIO = 0.98     # ... codes the words and their dictionary at most this fraction of the plain text
WORDS_MIN_COUNT = 12       # words seen this often go to the dictionary (l1's own default: 5)
WORDS_PRECHECK_BYTES = 1 << 15  # text over twice this: a quick trial on its first 32 KiB first
WORDS_PRECHECK_MIN_COUNT = 8    # ... with a dictionary of its own words seen 8+ times
WORDS_PRECHECK_MAX_RATIO = 1.03  # ... rejects the word layer above this fraction of the plain text
COVERAGE = 0.95
MAX_COLUMNS = 255  # dedicated columns; column 0 is the shared one
MAX_SCALE = 18
FLAG_RAW = 255
NUM_INT = 0        # column number modes
NUM_SCALED = 1
NUM_PLAIN = 2

# decoder error codes -> messages
_ERRORS = {
    -1: "skeleton ends early",
    -2: "output exceeds the block length",
    -3: "ws stream exhausted",
    -4: "residue stream exhausted",
    -5: "key id out of range",
    -6: "literal key stream exhausted",
    -7: "column text stream exhausted",
    -8: "column int stream exhausted",
    -9: "number flag stream exhausted",
    -10: "bad number flag",
    -11: "number out of range",
    -12: "unknown skeleton symbol",
    -13: "more distinct paths than declared",
    -14: "column index out of range",
    -15: "streams not fully consumed",
    -16: "number mantissa not divisible by its scale",
    -17: "nesting deeper than the skeleton allows",
    -18: "column dictionary ids exhausted",
    -19: "column dictionary id out of range",
    -20: "refs stream exhausted",
    -21: "subtree reference to bytes not yet written",
    -22: "string reference in a block of params version < 3",
    -23: "string refs stream exhausted",
    -24: "string reference out of range",
}
