"""FirstInProcess: once per process, and once more in a forked child (which has none of the
parent's threads), as the model watcher and the metrics flusher need."""

from __future__ import annotations

import os
import threading

from tagger.api.per_process import FirstInProcess


def test_claimed_once_per_process_and_again_after_a_fork():
    first, lock = FirstInProcess(), threading.Lock()
    assert not first.claimed_here
    claims = []
    threads = [threading.Thread(target=lambda: claims.append(first.claim(lock)))
               for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claims) == [False] * 7 + [True] and first.claimed_here
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: not claimed here yet, claims once
        answer = f"{first.claimed_here} {first.claim(lock)} {first.claim(lock)}"
        os.write(write, answer.encode())
        os._exit(0)
    os.close(write)
    _, status = os.waitpid(pid, 0)
    assert status == 0
    assert os.read(read, 100).decode() == "False True False"
    assert first.claimed_here and not first.claim(lock)  # the parent is unchanged
