"""The write-ahead log: what was appended comes back after a restart, exactly once, in order."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from firsttoken_collector.pipeline.wal import HEADER_SIZE, WalError, WriteAheadLog


def _reopen(directory: Path, **kwargs: int) -> WriteAheadLog:
    return WriteAheadLog(directory, fsync=False, **kwargs)  # type: ignore[arg-type]


def test_appended_records_are_recovered_in_order_with_their_payloads(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path, fsync=True)
    sent = [(["traces", "metrics", "logs"][i % 3], f"payload-{i}".encode() * (i + 1)) for i in range(50)]
    for signal, payload in sent:
        wal.append(signal, payload)  # type: ignore[arg-type]
    wal.close()

    again = _reopen(tmp_path)
    assert [r.seq for r in again.recovered] == list(range(1, 51))
    assert [(r.signal, again.read(r)) for r in again.recovered] == sent


def test_commit_drops_committed_records_and_whole_segments(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path, fsync=False, segment_bytes=200)
    records = [wal.append("traces", bytes([i]) * 100) for i in range(10)]
    segments_before = len(list(tmp_path.glob("seg-*.wal")))
    wal.commit(records[6].seq)
    assert len(list(tmp_path.glob("seg-*.wal"))) < segments_before
    wal.close()

    again = _reopen(tmp_path, segment_bytes=200)
    assert [r.seq for r in again.recovered] == [8, 9, 10]
    assert again.read(again.recovered[0]) == bytes([7]) * 100
    # sequence numbers keep growing after a restart: a new record never reuses a committed number
    assert again.append("traces", b"x").seq == 11


def test_a_torn_tail_is_cut_off_and_everything_before_it_survives(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path, fsync=False)
    for i in range(3):
        wal.append("logs", f"record {i}".encode())
    wal.close()
    (segment,) = tmp_path.glob("seg-*.wal")
    intact = segment.stat().st_size
    with open(segment, "ab") as handle:  # the process died half-way through writing a fourth record
        handle.write(b"\x31\x57\x54\x46" + b"\x00" * (HEADER_SIZE - 4 + 3))

    again = _reopen(tmp_path)
    assert [again.read(r) for r in again.recovered] == [b"record 0", b"record 1", b"record 2"]
    assert segment.stat().st_size == intact
    again.append("logs", b"record 3")
    again.close()
    assert [r.seq for r in _reopen(tmp_path).recovered] == [1, 2, 3, 4]


def test_corruption_in_an_older_segment_is_an_error_not_silent_loss(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path, fsync=False, segment_bytes=100)
    for i in range(4):
        wal.append("traces", bytes([i]) * 120)
    wal.close()
    oldest = sorted(tmp_path.glob("seg-*.wal"))[0]
    data = bytearray(oldest.read_bytes())
    data[HEADER_SIZE + 5] ^= 0xFF
    oldest.write_bytes(bytes(data))
    with pytest.raises(WalError, match="corrupt"):
        _reopen(tmp_path, segment_bytes=100)


def test_intent_and_instance_id_survive_a_restart(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path, fsync=True)
    for _ in range(5):
        wal.append("traces", b"p")
    wal.set_intent(1, 3)
    instance = wal.instance_id
    wal.close()
    again = _reopen(tmp_path)
    assert again.checkpoint.intent == (1, 3)
    assert again.instance_id == instance
    again.commit(3)
    assert _reopen(tmp_path).checkpoint.intent is None


def test_concurrent_appends_get_distinct_sequence_numbers_and_all_survive(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path, fsync=True, segment_bytes=4096)
    seqs: list[int] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        for i in range(50):
            record = wal.append("traces", f"{n}:{i}".encode())
            with lock:
                seqs.append(record.seq)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wal.close()
    assert sorted(seqs) == list(range(1, 401))
    payloads = {(_reopen(tmp_path).read(r)) for r in _reopen(tmp_path).recovered}
    assert payloads == {f"{n}:{i}".encode() for n in range(8) for i in range(50)}
