"""Atomic writes and the cross-process 'compute once, the others wait' lock."""

import os
import threading
import time

from nbutils.core.jsonio import computing


def test_one_computes_the_others_read(tmp_path):
    target = tmp_path / "entry.json"
    events = []

    def worker(name):
        with computing(target, poll=0.01) as mine:
            events.append((name, mine))
            if mine:
                time.sleep(0.2)
                target.write_text("done")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(mine for _, mine in events) == 1 and len(events) == 4
    assert target.read_text() == "done" and not (tmp_path / "entry.json.lock").exists()


def test_a_lock_left_by_a_dead_process_is_taken_over(tmp_path):
    target = tmp_path / "entry.json"
    (tmp_path / "entry.json.lock").write_text("999999999")  # no such process
    with computing(target, poll=0.01) as mine:
        assert mine
    assert not (tmp_path / "entry.json.lock").exists()


def test_an_existing_entry_is_read_without_locking(tmp_path):
    target = tmp_path / "entry.json"
    target.write_text("x")
    (tmp_path / "entry.json.lock").write_text(str(os.getpid()))  # a live lock: ignored
    with computing(target) as mine:
        assert not mine
