"""The PPMd var.H model heap: one NumPy byte array, 32-bit offsets into it,
and the unit allocator that carves contexts and state arrays out of it.

Layout (offsets from the array's start, as 7-Zip's refs are from ``Base``):
``ALIGN`` (4) unused bytes, the text area growing up from ``ALIGN``, the
units area (12-byte units) up to ``ALIGN + size``, then one spare unit that
the free-block gluer uses as its list head. A context is one unit (u16
NumStats, u16 SummFreq, u32 Stats, u32 Suffix; a context with one symbol keeps
that 6-byte state in place of SummFreq/Stats); a state is 6 bytes (u8 symbol,
u8 freq, u16 successor low, u16 successor high). All units are 4-aligned and
all states 2-aligned, so fields are read through u16 / u32 views.

Every field read and write goes through the accessors below, which clamp an
offset outside the array to 0: a consistent model never needs that (the model
is built only from decoded symbols, so any input gives a model the encoder
could have built), but should it ever happen, a wrong byte is the worst
outcome, never a write outside the array. Loops over free lists are bounded
by the number of units in the heap.

The model's registers live in one int64 array ``m`` (indices below): scalar
fields, the free lists, the SEE contexts and the binary-context probabilities.
"""

from __future__ import annotations

import numpy as np
from numba import njit

UNIT_SIZE = 12
ALIGN = 4  # 7-Zip's AlignOffset for a size that is a multiple of 4
NUM_INDEXES = 38
MAX_ORDER = 64

# ---- registers in m
MIN_CTX, MAX_CTX, FOUND, ORDER_FALL, INIT_ESC, PREV_SUCCESS, MAX_ORD, HI_BITS = 0, 1, 2, 3, 4, 5, 6, 7
RUN_LENGTH, INIT_RL, SIZE, GLUE_COUNT, TEXT, UNITS_START, LO_UNIT, HI_UNIT = 8, 9, 10, 11, 12, 13, 14, 15
ERR = 16  # nonzero: the model was found inconsistent (never for a correct implementation)
RC_RANGE, RC_CODE, RC_POS, RC_LOW, RC_CACHE, RC_CACHE_SIZE, OUT_POS, EPOCH = 20, 21, 22, 23, 24, 25, 26, 27
RESTARTS, GLUES = 28, 29  # statistics: model restarts, free-block gluings
FREE = 32  # FreeList[NUM_INDEXES]
SEE = 72  # 25 x 16 SEE contexts + the dummy one (index 400): summ, shift, count
DUMMY_SEE = 400
BIN = SEE + 3 * 401 + 5  # BinSumm[128][64]
MASK = BIN + 128 * 64  # per symbol: the EPOCH of the escape that masked it
PS = MASK + 256  # the coders' list of unmasked states
CS_PS = PS + 256  # create_successors' states to give a successor
CS_PS_LEN = MAX_ORDER
M_LEN = CS_PS + CS_PS_LEN

ERR_MODEL = 1  # a search or chain walk ran past its bound


def _unit_tables():
    indx2units = np.zeros(NUM_INDEXES, np.int64)
    units2indx = np.zeros(128, np.int64)
    k = 0
    for i in range(NUM_INDEXES):
        step = 4 if i >= 12 else (i >> 2) + 1
        for _ in range(step):
            units2indx[k] = i
            k += 1
        indx2units[i] = k
    return indx2units, units2indx


I2U, U2I_TABLE = _unit_tables()  # U2I_TABLE[nu - 1] is 7-Zip's U2I(nu)


def heap_bytes(size: int) -> int:
    """Bytes of the heap array for a model of ``size`` bytes (a multiple of 4)."""
    return ALIGN + size + UNIT_SIZE


# ---------------------------------------------------------------- accessors


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def get8(h8, o):
    if o < 0 or o >= h8.shape[0]:
        o = 0
    return np.int64(h8[o])


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def set8(h8, o, v):
    if o < 0 or o >= h8.shape[0]:
        o = 0
    h8[o] = v & 0xFF


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def get16(h16, o):
    i = o >> 1
    if i < 0 or i >= h16.shape[0]:
        i = 0
    return np.int64(h16[i])


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def set16(h16, o, v):
    i = o >> 1
    if i < 0 or i >= h16.shape[0]:
        i = 0
    h16[i] = v & 0xFFFF


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def get32(h32, o):
    i = o >> 2
    if i < 0 or i >= h32.shape[0]:
        i = 0
    return np.int64(h32[i])


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def set32(h32, o, v):
    i = o >> 2
    if i < 0 or i >= h32.shape[0]:
        i = 0
    h32[i] = v & 0xFFFFFFFF


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def get_successor(h16, s):
    return get16(h16, s + 2) | (get16(h16, s + 4) << 16)


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def set_successor(h16, s, v):
    set16(h16, s + 2, v)
    set16(h16, s + 4, v >> 16)


@njit(cache=True, nogil=True, _nrt=False)
def copy_state(h16, dst, src):
    """Copy the 6-byte state at src to dst (both 2-aligned)."""
    for k in range(0, 6, 2):
        set16(h16, dst + k, get16(h16, src + k))


@njit(cache=True, nogil=True, _nrt=False)
def swap_states(h16, a, b):
    for k in range(0, 6, 2):
        t = get16(h16, a + k)
        set16(h16, a + k, get16(h16, b + k))
        set16(h16, b + k, t)


@njit(cache=True, nogil=True, _nrt=False)
def copy_units(h32, dst, src, nu):
    for k in range(0, nu * UNIT_SIZE, 4):
        set32(h32, dst + k, get32(h32, src + k))


# ---------------------------------------------------------------- allocator


@njit(cache=True, nogil=True, _nrt=False)
def u2i(nu):
    """Free-list index of a block of nu units (1..128)."""
    if nu < 1:
        nu = 1
    elif nu > 128:
        nu = 128
    return U2I_TABLE[nu - 1]


@njit(cache=True, nogil=True, _nrt=False)
def insert_node(h32, m, node, indx):
    set32(h32, node, m[FREE + indx])
    m[FREE + indx] = node


@njit(cache=True, nogil=True, _nrt=False)
def remove_node(h32, m, indx):
    node = m[FREE + indx]
    m[FREE + indx] = get32(h32, node)
    return node


@njit(cache=True, nogil=True, _nrt=False)
def split_block(h32, m, ptr, old_indx, new_indx):
    """Give the tail of a block of I2U[old_indx] units, past its first
    I2U[new_indx], back to the free lists."""
    nu = I2U[old_indx] - I2U[new_indx]
    ptr += I2U[new_indx] * UNIT_SIZE
    i = u2i(nu)
    if I2U[i] != nu:
        i -= 1
        k = I2U[i]
        insert_node(h32, m, ptr + k * UNIT_SIZE, nu - k - 1)
    insert_node(h32, m, ptr, i)


@njit(cache=True, nogil=True, _nrt=False)
def glue_free_blocks(h16, h32, m):
    """Merge adjacent free blocks and refill the free lists with the merged ones.

    Free blocks become nodes of a doubly linked list (u16 stamp 0, u16 units,
    u32 next, u32 prev) headed by the spare unit past the heap; a block in use
    starts with a nonzero u16 (a context's NumStats, a state's symbol and
    nonzero freq), and the start of the unallocated gap is stamped 1, so a walk
    from a free block over its right neighbours stops at the first one in use."""
    head = ALIGN + m[SIZE]
    bound = m[SIZE] // UNIT_SIZE + 8  # more nodes than units: a cycle
    m[GLUE_COUNT] = 255
    m[GLUES] += 1
    n = head
    for i in range(NUM_INDEXES):
        nu = I2U[i]
        nxt = m[FREE + i]
        m[FREE + i] = 0
        steps = 0
        while nxt != 0:
            steps += 1
            if steps > bound:
                m[ERR] = ERR_MODEL
                return
            node = nxt
            set32(h32, node + 4, n)  # node.next = n
            set32(h32, n + 8, nxt)  # n.prev = node
            n = nxt
            nxt = get32(h32, node)
            set16(h16, node, 0)  # stamp
            set16(h16, node + 2, nu)
    set16(h16, head, 1)
    set32(h32, head + 4, n)
    set32(h32, n + 8, head)
    if m[LO_UNIT] != m[HI_UNIT]:
        set16(h16, m[LO_UNIT], 1)

    steps = 0
    while n != head:
        steps += 1
        if steps > bound:
            m[ERR] = ERR_MODEL
            return
        node = n
        nu = get16(h16, node + 2)
        while True:
            node2 = node + nu * UNIT_SIZE
            nu += get16(h16, node2 + 2)
            if get16(h16, node2) != 0 or nu >= 0x10000:
                break
            prev2 = get32(h32, node2 + 8)
            next2 = get32(h32, node2 + 4)
            set32(h32, prev2 + 4, next2)
            set32(h32, next2 + 8, prev2)
            set16(h16, node + 2, nu)
        n = get32(h32, node + 4)

    n = get32(h32, head + 4)
    steps = 0
    while n != head:
        steps += 1
        if steps > bound:
            m[ERR] = ERR_MODEL
            return
        node = n
        nxt = get32(h32, node + 4)
        nu = get16(h16, node + 2)
        while nu > 128:
            insert_node(h32, m, node, NUM_INDEXES - 1)
            nu -= 128
            node += 128 * UNIT_SIZE
        i = u2i(nu)
        if I2U[i] != nu:
            i -= 1
            k = I2U[i]
            insert_node(h32, m, node + k * UNIT_SIZE, nu - k - 1)
        insert_node(h32, m, node, i)
        n = nxt


@njit(cache=True, nogil=True, _nrt=False)
def alloc_units_rare(h16, h32, m, indx):
    if m[GLUE_COUNT] == 0:
        glue_free_blocks(h16, h32, m)
        if m[FREE + indx] != 0:
            return remove_node(h32, m, indx)
    i = indx
    while True:
        i += 1
        if i == NUM_INDEXES:
            num_bytes = I2U[indx] * UNIT_SIZE
            m[GLUE_COUNT] -= 1
            if m[UNITS_START] - m[TEXT] > num_bytes:
                m[UNITS_START] -= num_bytes
                return m[UNITS_START]
            return 0
        if m[FREE + i] != 0:
            break
    r = remove_node(h32, m, i)
    split_block(h32, m, r, i, indx)
    return r


@njit(cache=True, nogil=True, _nrt=False)
def alloc_units(h16, h32, m, indx):
    if m[FREE + indx] != 0:
        return remove_node(h32, m, indx)
    num_bytes = I2U[indx] * UNIT_SIZE
    if num_bytes <= m[HI_UNIT] - m[LO_UNIT]:
        r = m[LO_UNIT]
        m[LO_UNIT] += num_bytes
        return r
    return alloc_units_rare(h16, h32, m, indx)


@njit(cache=True, nogil=True, _nrt=False)
def alloc_context(h16, h32, m):
    if m[HI_UNIT] != m[LO_UNIT]:
        m[HI_UNIT] -= UNIT_SIZE
        return m[HI_UNIT]
    if m[FREE] != 0:
        return remove_node(h32, m, 0)
    return alloc_units_rare(h16, h32, m, 0)


@njit(cache=True, nogil=True, _nrt=False)
def shrink_units(h16, h32, m, old_ptr, old_nu, new_nu):
    i0 = u2i(old_nu)
    i1 = u2i(new_nu)
    if i0 == i1:
        return old_ptr
    if m[FREE + i1] != 0:
        ptr = remove_node(h32, m, i1)
        copy_units(h32, ptr, old_ptr, new_nu)
        insert_node(h32, m, old_ptr, i0)
        return ptr
    split_block(h32, m, old_ptr, i0, i1)
    return old_ptr
