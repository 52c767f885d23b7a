"""Run and file keeping: what the library writes and reads on disk, and how safely.

- `safe_io`: reads bounded in size and confined to a folder, output locks, temporary files.
- `runs`: run directories (`runs/<task>/<timestamp>/`), atomic writes, checkpoints (plain
  tensors, loaded with `weights_only=True`), the metrics log, run markers and locks.
- `provenance`: where a run came from (git commit, versions, device, command).
- `downloads`: corpora fetched once, checked against SHA-256 sums, extracted safely, cached.
"""
