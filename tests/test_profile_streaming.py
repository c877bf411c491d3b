"""StreamingProfile: latency, jitter, throughput over time, reordering, gaps, retransmissions."""

import threading

import pytest

from cobol.profile import StreamingProfile


def test_in_order_latency_and_jitter_by_hand():
    sp = StreamingProfile()
    sends = [0.0, 0.1, 0.2, 0.3]
    transits = [0.010, 0.014, 0.011, 0.011]
    for seq, (ts, d) in enumerate(zip(sends, transits)):
        sp.on_block_sent(seq, 500, t=ts)
        sp.on_block_received(seq, 500, t=ts + d)
    s = sp.summary()
    assert (s["blocks_sent"], s["blocks_received"], s["bytes_received"]) == (4, 4, 2000)
    assert (s["out_of_order"], s["duplicates"], s["retransmitted"], s["gap_events"], s["missing_count"]) == (0, 0, 0, 0, 0)
    lat = s["latency_s"]
    assert lat["count"] == 4 and lat["min"] == pytest.approx(0.010) and lat["max"] == pytest.approx(0.014)
    assert lat["mean"] == pytest.approx(sum(transits) / 4)
    # RFC 3550: J += (|D| - J) / 16 over consecutive transits
    j = 0.0
    for a, b in zip(transits, transits[1:]):
        j += (abs(b - a) - j) / 16
    assert s["jitter_s"] == pytest.approx(j)
    assert s["interarrival_s"]["count"] == 3
    assert s["duration_s"] == pytest.approx(0.311)
    assert s["throughput_mb_s"] == pytest.approx(2000 / 0.311 / 1e6)
    rows = {r["seq"]: r for r in s["blocks"]}
    assert rows[1]["latency_s"] == pytest.approx(0.014) and rows[1]["sends"] == 1


def test_out_of_order_gaps_duplicates_missing():
    sp = StreamingProfile()
    for seq, t in [(0, 1.0), (1, 1.1), (4, 1.2), (2, 1.3), (4, 1.4), (7, 1.5), (3, 1.6)]:
        sp.on_block_received(seq, 100, t=t)
    s = sp.summary()
    assert s["blocks_received"] == 6 and s["duplicates"] == 1
    assert s["out_of_order"] == 2  # 2 and 3 arrived after 4 / 7
    assert s["gap_events"] == 2 and s["max_gap"] == 2  # 4 skipped 2..3, 7 skipped 5..6
    assert s["missing"] == [5, 6] and s["missing_count"] == 2
    assert sp.missing() == [5, 6]
    assert s["latency_s"] is None and s["jitter_s"] is None  # no send times on this side
    # duplicates are not arrivals: 0.1, 0.1, 0.1, 0.2 (past the duplicate at 1.4), 0.1
    assert s["interarrival_s"]["count"] == 5 and s["interarrival_s"]["mean"] == pytest.approx(0.12)


def test_resumed_stream_starts_anywhere():
    sp = StreamingProfile()
    for seq in range(100, 110):
        sp.on_block_received(seq, 10, t=seq)
    s = sp.summary()
    assert s["gap_events"] == 0 and s["missing"] == []


def test_retransmission_ack_and_delivery():
    sp = StreamingProfile()
    sp.on_block_sent(0, 1000, t=0.0)
    sp.on_block_sent(1, 1000, t=0.0)
    sp.on_block_sent(1, 1000, t=0.5)  # lost, sent again
    sp.on_retransmit(1, 1000, t=0.6)
    sp.on_block_received(0, 1000, t=0.02)
    sp.on_block_received(1, 1000, t=0.63)
    sp.on_block_acked(0, t=0.05)
    sp.on_block_acked(1, t=0.7)
    sp.on_block_acked(1, t=0.9)  # a second ack changes nothing
    sp.on_block_delivered(0, t=0.02)
    sp.on_block_delivered(1, t=0.64)
    s = sp.summary()
    assert s["retransmitted"] == 2 and s["blocks_sent"] == 4 and s["bytes_sent"] == 4000
    assert s["blocks_acked"] == 2 and s["blocks_delivered"] == 2
    assert s["rtt_s"]["min"] == pytest.approx(0.05) and s["rtt_s"]["max"] == pytest.approx(0.1)  # from the last send
    assert s["latency_s"]["max"] == pytest.approx(0.03)
    assert s["delivery_delay_s"]["max"] == pytest.approx(0.01)
    rows = {r["seq"]: r for r in s["blocks"]}
    assert rows[1]["sends"] == 3 and rows[1]["sent_s"] == 0.0


def test_throughput_series_adds_up():
    sp = StreamingProfile()
    for i in range(1000):
        sp.on_block_received(i, 1000 + i, t=i * 0.001)
    series = sp.throughput_series(bin_seconds=0.1)
    assert sum(b["bytes"] for b in series) == sum(1000 + i for i in range(1000))
    assert len(series) == 10 and series[0]["t_s"] == 0.0
    assert series[0]["mb_s"] == pytest.approx(series[0]["bytes"] / 0.1 / 1e6)
    auto = sp.summary()["throughput_over_time"]
    assert 40 <= len(auto) <= 52 and sum(b["bytes"] for b in auto) == sum(1000 + i for i in range(1000))


def test_sender_only_profile_uses_sends_for_throughput():
    sp = StreamingProfile()
    for i in range(10):
        sp.on_block_sent(i, 100, t=i * 0.01)
    s = sp.summary()
    assert sum(b["bytes"] for b in s["throughput_over_time"]) == 1000
    assert s["throughput_mb_s"] == pytest.approx(1000 / 0.09 / 1e6)


def test_rows_are_bounded_and_threads_are_safe():
    sp = StreamingProfile(max_blocks=50)

    def worker(k):
        for i in range(k, 2000, 4):
            sp.on_block_sent(i, 10)
            sp.on_block_received(i, 10)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    s = sp.summary()
    assert s["blocks_sent"] == s["blocks_received"] == 2000 and s["duplicates"] == 0
    assert len(s["blocks"]) <= 50 and s["dropped_block_rows"] > 0
    assert s["latency_s"]["count"] > 0


def test_default_clock_is_used():
    ticks = iter([10.0, 10.5, 11.0])
    sp = StreamingProfile(clock=lambda: next(ticks))
    sp.on_block_sent(0, 5)
    sp.on_block_received(0, 5)
    sp.on_block_acked(0)
    s = sp.summary()
    assert s["latency_s"]["mean"] == pytest.approx(0.5) and s["rtt_s"]["mean"] == pytest.approx(1.0)
