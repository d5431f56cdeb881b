#!/usr/bin/env python3
"""Deterministic KV dataset for bench/kv_bench.sh (standard library only).

Writes, into OUT_DIR:
  txn/NNNNNN.json  bodies for PUT /v1/txn: at most 128 "set" operations and at most 512 KiB each
  big/NNNNNN.key   key of a value too large for a transaction (its value in big/NNNNNN.val),
                   loaded by a plain PUT /v1/kv/<key>
  subset.json      the first IMPORT_KEYS keys in `consul kv export` format (for a capped
                   `consul kv import`), only when IMPORT_KEYS < N
  stats.txt        keys, value bytes, large values

Keys live in nested prefixes (team/service/env/component/...). Values: 100 B to 2 KiB, mostly
text-like config (compressible), one in ten random binary; one key in 5,000 holds a value of
64 KiB to 512 KiB (at least one exactly 512 KiB). The same seed always gives the same bytes.
"""
import base64
import json
import os
import random
import sys

MAX_OPS = 128
MAX_BODY = 512 * 1024
BIG_MAX = 512 * 1024


def main() -> int:
    if len(sys.argv) < 3:
        print("usage: kv_datagen.py N OUT_DIR [IMPORT_KEYS] [SEED]", file=sys.stderr)
        return 2
    n = int(sys.argv[1])
    out = sys.argv[2]
    import_keys = int(sys.argv[3]) if len(sys.argv) > 3 else n
    seed = int(sys.argv[4]) if len(sys.argv) > 4 else 20261127
    rng = random.Random(seed)

    os.makedirs(os.path.join(out, "txn"), exist_ok=True)
    os.makedirs(os.path.join(out, "big"), exist_ok=True)

    # Pools to slice values from: text-like config and random bytes.
    words = [
        "enabled", "true", "false", "timeout", "30s", "retries", "host", "port", "8080",
        "replicas", "image", "registry.internal", "v1.2.3", "memory", "512Mi", "cpu", "250m",
        "url", "https://api.internal/v2", "region", "eu-west-1", "log_level", "info", "{", "}",
        "\"name\":", "\"value\":", "=", ":", ",", "\n", "  ", "feature", "limit", "1000", "db",
        "postgres", "user", "pool_size", "cache", "ttl", "3600", "path", "/var/lib/app",
    ]
    text_pool = "".join(rng.choice(words) + " " for _ in range(1_200_000)).encode()
    bin_pool = rng.randbytes(4 * 1024 * 1024)

    teams = [f"team-{t:02d}" for t in range(20)]
    envs = ["prod", "staging", "dev", "qa"]
    comps = ["config", "secrets", "flags", "routing", "limits"]

    batch: list[str] = []
    batch_bytes = 2
    txn_no = 0
    big_no = 0
    value_bytes = 0
    subset = []

    def flush() -> None:
        nonlocal batch, batch_bytes, txn_no
        if not batch:
            return
        with open(os.path.join(out, "txn", f"{txn_no:06d}.json"), "w") as f:
            f.write("[" + ",".join(batch) + "]")
        txn_no += 1
        batch = []
        batch_bytes = 2

    for i in range(n):
        team = teams[i % len(teams)]
        svc = f"svc-{(i // 20) % 250:03d}"
        env = envs[(i // 5000) % len(envs)]
        comp = comps[i % len(comps)]
        depth = i % 3
        key = f"{team}/{svc}/{env}/{comp}/" + "".join(f"level{d}/" for d in range(depth)) + f"key-{i:07d}"

        if i % 5000 == 4999 or (i == n - 1 and big_no == 0 and n >= 2):
            size = BIG_MAX if big_no == 0 else rng.randint(64 * 1024, BIG_MAX)
            pool = bin_pool if big_no % 2 else text_pool
        else:
            size = rng.randint(100, 2048)
            pool = bin_pool if rng.random() < 0.1 else text_pool
        off = rng.randrange(0, len(pool) - size)
        value = pool[off:off + size]
        flags = rng.randrange(0, 1 << 16) if i % 97 == 0 else 0
        value_bytes += size
        b64 = base64.b64encode(value).decode()

        if i < import_keys < n:
            subset.append({"key": key, "flags": flags, "value": b64})

        op = json.dumps({"KV": {"Verb": "set", "Key": key, "Value": b64, "Flags": flags}},
                        separators=(",", ":"))
        if len(op) + 2 + 64 > MAX_BODY:
            with open(os.path.join(out, "big", f"{big_no:06d}.key"), "w") as f:
                f.write(key)
            with open(os.path.join(out, "big", f"{big_no:06d}.val"), "wb") as f:
                f.write(value)
            with open(os.path.join(out, "big", f"{big_no:06d}.flags"), "w") as f:
                f.write(str(flags))
            big_no += 1
            continue
        if len(batch) >= MAX_OPS or batch_bytes + len(op) + 1 > MAX_BODY:
            flush()
        batch.append(op)
        batch_bytes += len(op) + 1
    flush()

    if subset:
        with open(os.path.join(out, "subset.json"), "w") as f:
            json.dump(subset, f, indent="\t")
    with open(os.path.join(out, "stats.txt"), "w") as f:
        f.write(f"keys={n} value_bytes={value_bytes} txns={txn_no} big_by_put={big_no}\n")
    print(f"kv_datagen: keys={n} value_bytes={value_bytes} txns={txn_no} big_by_put={big_no}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
