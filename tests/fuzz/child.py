"""The child process: runs cases and reports each result on stdout."""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import struct
import sys
import time
import traceback
from pathlib import Path

from .common import ENGINE_NET, MiB
from .mutations import Case, mutate_case, mutate_frame, mutate_view
from .targets import Input, Target, all_targets


def _case_rng(seed: int, target: str, label: str, index: int) -> random.Random:
    h = hashlib.sha256(f"{seed}|{target}|{label}|{index}".encode()).digest()
    return random.Random(int.from_bytes(h[:8], "little"))


def _vm_bytes() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def _set_as_limit(nbytes):
    import resource
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if nbytes is None:
        resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
        return
    if hard != resource.RLIM_INFINITY:
        nbytes = min(nbytes, hard)
    resource.setrlimit(resource.RLIMIT_AS, (nbytes, hard))


def _tb_tail(exc, n=4) -> list:
    tb = traceback.extract_tb(exc.__traceback__)
    return [f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in tb[-n:]]


def _masked(exc):
    """The non-CobolError hidden behind a CobolError (``raise ... from None``
    keeps ``__context__``), when a decoder's own net caught it."""
    from cobol.errors import CobolError
    deliberate = ()
    try:
        import zstandard
        deliberate = (zstandard.ZstdError,)  # the codec's own error, converted on purpose
    except ImportError:
        pass
    careless = (IndexError, TypeError, OverflowError, MemoryError, ZeroDivisionError, AttributeError,
                AssertionError, RecursionError, BufferError, struct.error)
    seen = exc.__context__
    while seen is not None:
        if not isinstance(seen, (CobolError,) + deliberate):
            # a lookup miss or a parse error turned into a CobolError on purpose
            # (``except KeyError: raise UnsupportedError``) is validation; a
            # message naming the caught type is a catch-all net
            if isinstance(seen, careless) or f"{type(seen).__name__}:" in str(exc):
                return seen
        seen = seen.__context__
    return None


#: a case may grow the child's address space by MEM_SLACK + MEM_FACTOR x (raw
#: length + stream bytes); ``--tight`` lowers both to find allocations out of
#: proportion with small inputs
MEM_SLACK = int(os.environ.get("COBOL_FUZZ_MEM_SLACK", 256 * MiB))
MEM_FACTOR = int(os.environ.get("COBOL_FUZZ_MEM_FACTOR", 24))


def run_case(target: Target, inp: Input, pool: list, seed: int, index: int, mem_budget: int | None,
             as_limit: bool = True) -> dict:
    """Mutate and decode one case; returns a result dict (kind ok/net/fail/slow)."""
    from cobol.errors import CobolError
    rng = _case_rng(seed, target.name, inp.label, index)
    c = Case(inp, pool)
    if target.frame:
        mutate_frame(rng, c)
    elif target.view is not None and rng.random() < 0.6:
        mutate_view(rng, c, target.view)
    else:
        mutate_case(rng, c)
    streams = [bytes(s) for s in c.streams]
    params = bytes(c.params)
    res = {"case": f"{target.name}|{inp.label}|{seed}|{index}", "mutations": c.log, "kind": "ok"}
    size = sum(len(s) for s in streams) + len(params)
    limit = None
    if mem_budget is not None and as_limit:
        # the case's fair share: a multiple of what it holds and claims, capped
        allowed = min(mem_budget, MEM_SLACK + MEM_FACTOR * (max(inp.raw_len, c.raw_len) + size))
        limit = _vm_bytes() + allowed
    t0 = time.perf_counter()
    try:
        if limit is not None:
            _set_as_limit(limit)
        try:
            out = target.decode(streams, params, c.raw_len)
        finally:
            if limit is not None:
                _set_as_limit(None)
    except CobolError as e:
        inner = _masked(e)
        res["error"] = f"{type(e).__name__}: {str(e)[:200]}"
        if inner is not None:
            res["kind"] = "net"
            res["exc"] = type(inner).__name__
            res["where"] = _tb_tail(inner)
            res["error"] = f"{type(inner).__name__}: {str(inner)[:200]} (as {type(e).__name__})"
    except MemoryError as e:
        res.update(kind="fail", exc="MemoryError", error=f"MemoryError: {str(e)[:200]}", where=_tb_tail(e),
                   limit=limit)
    except Exception as e:  # noqa: BLE001 - the point of the harness
        res.update(kind="fail", exc=type(e).__name__, error=f"{type(e).__name__}: {str(e)[:300]}", where=_tb_tail(e),
                   engine_net=type(e).__name__ in ENGINE_NET or isinstance(e, (ValueError, ArithmeticError)))
    else:
        if out is not None and target.name in _transform_names():
            # a transform must return exactly raw_len bytes (cobol.registry.Transform)
            n = len(out) if hasattr(out, "__len__") else -1
            if n != c.raw_len:
                res.update(kind="fail", exc="wrong length", error=f"returned {n} bytes for raw_len {c.raw_len}")
    res["seconds"] = round(time.perf_counter() - t0, 4)
    return res


def _transform_names() -> set:
    """The registered transforms' names: the targets whose output must be raw_len bytes."""
    from cobol.registry import all_transforms
    return {t.name for t in all_transforms()}


def child_main(spec: dict) -> int:
    """Run cases; stdout lines: ``S <case>`` before each, ``R <json>`` for each
    result worth reporting, ``I <round>`` after each round, ``D <json>`` at the
    end. Flushed per line. Rounds go over every input of every target, so a
    time-bounded run covers all of them evenly."""
    import signal
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    targets = all_targets()
    out = sys.stdout
    stats = {}

    def emit(tag, obj):
        out.write(f"{tag} {json.dumps(obj) if not isinstance(obj, str) else obj}\n")
        out.flush()

    t_end = time.monotonic() + spec.get("seconds", 1e9)
    resume = spec.get("resume")  # the case that killed the previous child: skip up to and past it
    first_round = spec.get("start", 0)
    work = []
    for tname in spec["targets"]:
        target = targets[tname]
        try:
            inputs = target.make_inputs(spec.get("sample_limit"))
        except Exception as e:  # noqa: BLE001
            emit("R", {"case": f"{tname}|*|-|-", "kind": "setup", "error": f"{type(e).__name__}: {e}",
                       "where": _tb_tail(e, 8)})
            continue
        if spec.get("max_inputs"):
            inputs = inputs[: spec["max_inputs"]]
        if resume is None and first_round == 0:
            # the unmutated inputs must decode, and to the data they came from
            for inp in inputs:
                if tname.startswith("_selftest"):
                    break
                try:
                    back = target.decode([bytes(s) for s in inp.streams], bytes(inp.params), inp.raw_len)
                    if inp.data and back is not None and bytes(back) != inp.data:
                        emit("R", {"case": f"{tname}|{inp.label}|-|-", "kind": "fail",
                                   "error": "valid input decodes wrong"})
                except Exception as e:  # noqa: BLE001
                    emit("R", {"case": f"{tname}|{inp.label}|-|-", "kind": "fail",
                               "error": f"valid input does not decode: {type(e).__name__}: {e}",
                               "where": _tb_tail(e)})
        stats[tname] = {"cases": 0, "inputs": len(inputs), "seconds": 0.0, "max_seconds": 0.0, "max_case": ""}
        work.append((target, inputs))
    slow = spec.get("slow", 2.0)
    tally = spec.get("tally", False)
    last_stats = time.monotonic()
    for index in range(first_round, spec["cases"]):
        if time.monotonic() > t_end:
            break
        for target, inputs in work:
            st = stats[target.name]
            for inp in inputs:
                name = f"{target.name}|{inp.label}|{spec['seed']}|{index}"
                if resume is not None:
                    if name == resume:
                        resume = None
                    continue
                emit("S", name)
                res = run_case(target, inp, inputs, spec["seed"], index, spec.get("mem_budget"))
                st["cases"] += 1
                st["seconds"] += res["seconds"]
                if tally:
                    key = "returned" if "error" not in res else re.sub(r"\d+", "N", res["error"])[:90]
                    errs = st.setdefault("errors", {})
                    errs[key] = errs.get(key, 0) + 1
                if res["seconds"] > st["max_seconds"]:
                    st["max_seconds"], st["max_case"] = res["seconds"], name
                if res["kind"] == "ok" and res["seconds"] > slow:
                    res["kind"] = "slow"
                if res["kind"] != "ok" or "note" in res:
                    emit("R", res)
        emit("I", str(index + 1))
        if time.monotonic() - last_stats > 1.0:
            emit("T", stats)  # so that the counts survive a crash of this child
            last_stats = time.monotonic()
    emit("T", stats)
    emit("D", "")
    return 0
