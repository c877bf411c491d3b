"""Throughput of every cobol.accel operation on every usable backend.

    python bench/bench_accel.py                      # cpu, cpu-1t, opencl, cuda where usable
    python bench/bench_accel.py --backends cpu,opencl --values 1000000 --reps 5
    python bench/bench_accel.py --json out.json
    python bench/bench_accel.py --backends cpu,cuda --nvcomp   # + nvCOMP on the same data (GPU)

Each operation runs once to warm up (kernel compiles), then ``--reps`` times;
the best time is reported (the machines are shared and noisy: the minimum is
the least disturbed run). Times are host in, host out: they include the
copies to and from the device. For the device backends a second row
"(resident)" times the same call on data already on the device (CuPy /
PyOpenCL arrays), which is what ``encode_ints_packed`` on GPU data costs.
Throughput is MB/s of *input* (8 bytes per int value, 1 byte per data byte,
bytes of encoded input for the decoders), 1 MB = 10**6 bytes. Every result is
checked against the CPU backend's before it is timed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

from cobol import accel  # noqa: E402
from cobol.accel.cpu import CpuBackend  # noqa: E402
from cobol.device_frame import compress_device_ints  # noqa: E402
from cobol.layers import l3_delta  # noqa: E402


def make_inputs(nvalues: int, nbytes: int, seed: int = 7) -> dict:
    rng = np.random.default_rng(seed)
    # timestamps with jitter, counters and noise: what L3/L4 see in practice
    k = nvalues // 3
    ints = np.concatenate([
        1_700_000_000_000 + 1000 * np.arange(k) + rng.integers(-3, 4, k),
        np.cumsum(rng.integers(0, 10, k)),
        rng.integers(-(1 << 20), 1 << 20, nvalues - 2 * k),
    ]).astype(np.int64)
    orders = l3_delta.choose_orders(ints, 512)
    codes = l3_delta.delta_encode(ints, orders, 512)
    varints = rng.integers(0, 1 << 40, nvalues, dtype=np.uint64) >> rng.integers(0, 40, nvalues).astype(np.uint64)
    # JSON-ish text for histogram and pattern matching
    words = [b'{"id": ', b'"name": "', b'", ', b'"tags": [', b"], ", b"}\n", b"alpha", b"beta", b"12345", b"true"]
    idx = rng.integers(0, len(words), nbytes // 5)
    text = b"".join(words[i] for i in idx)[:nbytes]
    vocab = list(dict.fromkeys(bytes(rng.integers(97, 123, int(rng.integers(2, 10))).astype(np.uint8))
                               for _ in range(4096)))
    toks = [vocab[int(i)] for i in rng.integers(0, len(vocab), nvalues)]
    lens = np.array([len(t) for t in toks], np.uint64)
    ends = np.cumsum(lens, dtype=np.uint64)
    tokbuf = b"".join(toks)
    cpu = accel.get_backend("cpu")
    return {
        "ints": ints, "orders": orders, "codes": codes, "varints": varints, "text": text,
        "table": accel.DictionaryTable(vocab), "tokbuf": tokbuf, "starts": ends - lens, "ends": ends,
        "hashes": cpu.hash_tokens(tokbuf, ends - lens, ends),
        "htable": accel.DictionaryTable.from_hashes(np.array([accel.token_hash(v) for v in vocab], np.uint64)),
    }


def operations(inp: dict, cpu) -> list:
    """(name, input bytes, fn(backend, resident) -> result) for every op."""
    packed = cpu.bitpack(inp["codes"], 512, tags=inp["orders"])
    venc = cpu.varint_encode(inp["varints"])
    n = inp["ints"].size
    pats = accel.PatternSet([b"{", b"}", b"[", b"]", b":", b",", b'"'])
    return [
        ("varint_encode", 8 * n, lambda b, d: b.varint_encode(d("varints"))),
        ("varint_decode", len(venc), lambda b, d: b.varint_decode(venc, n)),
        ("l3_choose_orders", 8 * n, lambda b, d: b.choose_orders(d("ints"), 512)),
        ("l3_delta_encode", 8 * n, lambda b, d: b.delta_encode(d("ints"), d("orders"), 512)),
        ("l3_delta_decode", 8 * n, lambda b, d: b.delta_decode(d("codes"), d("orders"), 512)),
        ("l4_pack", 8 * n, lambda b, d: b.bitpack(d("codes"), 512, tags=d("orders"))),
        ("l4_unpack", len(packed), lambda b, d: b.bitunpack(packed, n)[0]),
        ("intcodec_packed", 8 * n, lambda b, d: b.encode_ints_packed(d("ints"))),
        ("dict_lookup_tokens", len(inp["tokbuf"]),
         lambda b, d: b.dictionary_lookup(inp["table"], d("tokbuf"), d("starts"), d("ends"))),
        ("dict_lookup_hashes", 8 * n, lambda b, d: b.hash_lookup(inp["htable"], d("hashes"))),
        ("byte_histogram", len(inp["text"]), lambda b, d: b.byte_histogram(d("text"))),
        ("entropy", len(inp["text"]), lambda b, d: b.entropy(d("text"))),
        ("find_patterns", len(inp["text"]), lambda b, d: b.find_patterns(d("text"), pats)),
        ("pattern_bitmap", len(inp["text"]), lambda b, d: b.pattern_bitmap(d("text"), pats)),
    ]


def _equal(a, b) -> bool:
    if isinstance(a, tuple):
        return all(_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and np.array_equal(a, b)
    return a == b


def time_op(fn, reps: int, sync) -> float:
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        sync()
        best = min(best, time.perf_counter() - t0)
    return best


def _import_nvcomp():
    """nvidia.nvcomp, also when its wheel was unpacked into a different
    directory than other nvidia-* packages (a regular ``nvidia`` package
    earlier on sys.path would hide it)."""
    try:
        from nvidia import nvcomp
        return nvcomp
    except ImportError:
        import nvidia
        for p in sys.path:
            d = os.path.join(p, "nvidia")
            if os.path.isdir(os.path.join(d, "nvcomp")) and d not in list(nvidia.__path__):
                nvidia.__path__.append(d)
        from nvidia import nvcomp
        return nvcomp


def nvcomp_rows(inp: dict, reps: int) -> tuple:
    """(rows, notes): nvCOMP codecs vs cobol's device path vs CPU zstd, data on the GPU."""
    import cupy as cp
    import zstandard

    rows, notes = [], []
    try:
        nvcomp = _import_nvcomp()
    except Exception as exc:  # noqa: BLE001 -- report, don't fail the bench
        return rows, [f"nvcomp: not importable ({type(exc).__name__}: {exc})"]
    cuda = accel.get_backend("cuda")
    sync = cp.cuda.runtime.deviceSynchronize
    datasets = {"ints": np.ascontiguousarray(inp["ints"]),
                "text": np.frombuffer(inp["text"], np.uint8)}
    for dname, host in datasets.items():
        dev = cp.asarray(host)
        raw = host.tobytes()
        t0 = time.perf_counter()
        zs = zstandard.ZstdCompressor(level=3).compress(raw)
        rows.append({"data": dname, "codec": "zstd-3 (CPU, host data)", "input_bytes": len(raw),
                     "compressed_bytes": len(zs), "encode_s": time.perf_counter() - t0, "decode_s": None})
        if dname == "ints":
            blob = compress_device_ints(dev, backend=cuda)
            t = time_op(lambda: compress_device_ints(dev, backend=cuda), reps, sync)
            rows.append({"data": dname, "codec": "cobol compress_device_ints (GPU + host zstd)",
                         "input_bytes": len(raw), "compressed_bytes": len(blob), "encode_s": t, "decode_s": None})
        arr = nvcomp.as_array(dev)
        for alg in ("LZ4", "Snappy", "Zstd", "GDeflate", "Deflate", "ANS", "Cascaded", "Bitcomp"):
            try:
                kw = {"algorithm": alg}
                if alg in ("LZ4", "Cascaded", "Bitcomp") and dname == "ints":
                    kw["data_type"] = "<i8"
                try:
                    codec = nvcomp.Codec(**kw)
                except Exception:  # noqa: BLE001 -- the option is not known to this algorithm/version
                    kw.pop("data_type", None)
                    codec = nvcomp.Codec(**kw)
                comp = codec.encode(arr)
                sync()
                back = cp.asarray(codec.decode(comp)).view(cp.uint8).reshape(-1)
                sync()
                if back.size != len(raw) or not bool((back == dev.view(cp.uint8).reshape(-1)).all()):
                    notes.append(f"nvcomp {alg} {dname}: decode does not give the input back")
                    continue
                te = time_op(lambda: codec.encode(arr), reps, sync)
                td = time_op(lambda: codec.decode(comp), reps, sync)
                rows.append({"data": dname, "codec": f"nvcomp {alg}" + (" <i8" if "data_type" in kw else ""),
                             "input_bytes": len(raw), "compressed_bytes": int(comp.buffer_size),
                             "encode_s": te, "decode_s": td})
            except Exception as exc:  # noqa: BLE001
                notes.append(f"nvcomp {alg} {dname}: {type(exc).__name__}: {str(exc)[:200]}")
    for r in rows:
        enc = f"{r['input_bytes'] / r['encode_s'] / 1e6:9.0f} MB/s enc"
        dec = f"{r['input_bytes'] / r['decode_s'] / 1e6:9.0f} MB/s dec" if r["decode_s"] else ""
        print(f"nvcomp {r['data']:5} {r['codec']:46} ratio {r['input_bytes'] / r['compressed_bytes']:7.2f} "
              f"{enc} {dec}", flush=True)
    return rows, notes


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backends", default="cpu,cpu-1t,opencl,cuda")
    ap.add_argument("--values", type=int, default=1 << 20, help="int values per batch (default 1 Mi)")
    ap.add_argument("--bytes", type=int, default=8 << 20, help="bytes of text per batch (default 8 MiB)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--ops", default="", help="comma-separated subset of operation names")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--nvcomp", action="store_true", help="compare with nvCOMP on the GPU (needs CUDA)")
    args = ap.parse_args(argv)

    inp = make_inputs(args.values, args.bytes)
    cpu = accel.get_backend("cpu")
    ops = operations(inp, cpu)
    if args.ops:
        keep = set(args.ops.split(","))
        ops = [o for o in ops if o[0] in keep]
    expected = {name: fn(cpu, lambda k: inp[k]) for name, _, fn in ops}

    results = []
    notes = []
    for bname in args.backends.split(","):
        if bname == "cpu-1t":
            b, label = CpuBackend(threads=1), "cpu-1t"
        else:
            st = accel.probe(bname)
            if not st.usable:
                notes.append(f"{bname}: not usable ({st.reason})")
                continue
            b, label = accel.get_backend(bname), bname
        dev = {k: b.upload(v) for k, v in inp.items() if isinstance(v, (np.ndarray, bytes))} \
            if b.name != "cpu" else None
        for name, nbytes, fn in ops:
            modes = [("host", lambda k: inp[k])]
            if dev is not None:
                modes.append(("resident", lambda k: dev.get(k, inp[k])))
            for mode, get in modes:
                if mode == "resident" and name in ("varint_decode", "l4_unpack"):
                    continue  # their input is a host byte string from the entropy decoder
                try:
                    out = fn(b, get)
                    if not _equal(out, expected[name]):
                        notes.append(f"{label} {name} ({mode}): RESULT DIFFERS FROM CPU")
                        continue
                    t = time_op(lambda: fn(b, get), args.reps, b.synchronize)
                except Exception as exc:  # noqa: BLE001 -- report and go on
                    notes.append(f"{label} {name} ({mode}): {type(exc).__name__}: {exc}")
                    continue
                row = {"backend": label, "device": b.device_info().name, "op": name, "mode": mode,
                       "input_bytes": nbytes, "seconds": t, "mb_per_s": nbytes / t / 1e6}
                results.append(row)
                print(f"{label:8} {name:20} {mode:9} {t * 1e3:9.2f} ms {row['mb_per_s']:10.1f} MB/s", flush=True)
    nv_rows = []
    if args.nvcomp:
        if accel.probe("cuda").usable:
            try:
                nv_rows, nv_notes = nvcomp_rows(inp, args.reps)
                notes += nv_notes
            except Exception as exc:  # noqa: BLE001 -- keep the main results
                notes.append(f"nvcomp: comparison failed ({type(exc).__name__}: {exc})")
        else:
            notes.append("nvcomp: skipped, CUDA not usable")
    for n in notes:
        print("note:", n)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": platform.node(), "cpu": CpuBackend().device_info().name,
                       "values": args.values, "bytes": args.bytes, "reps": args.reps,
                       "results": results, "nvcomp": nv_rows, "notes": notes,
                       "backends": accel.describe_backends()}, f, indent=1)
    return 1 if any("DIFFERS" in n for n in notes) else 0


if __name__ == "__main__":
    sys.exit(main())
