"""Fernet encrypt+decrypt of SIZE random bytes with Python's cryptography, ROUNDS times after one warm-up.
Times are taken inside python (perf_counter), so interpreter start and imports are not counted.
Prints one JSON line: {"median_seconds": ..., "rounds": ...}."""
import json
import os
import statistics
import sys
import time

from cryptography.fernet import Fernet

size, rounds = int(sys.argv[1]), int(sys.argv[2])
fernet = Fernet(Fernet.generate_key())
data = os.urandom(size)
times = []
for i in range(rounds + 1):
    start = time.perf_counter()
    back = fernet.decrypt(fernet.encrypt(data))
    elapsed = time.perf_counter() - start
    if back != data:
        raise SystemExit("round trip changed the data")
    if i > 0:
        times.append(elapsed)
print(json.dumps({"median_seconds": statistics.median(times), "rounds": rounds}))
