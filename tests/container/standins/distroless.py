"""TEST SCAFFOLDING (tests/container): turn a Debian root filesystem into a distroless-like
one. Keeps the files of the packages named on the command line (and every file no
package owns, such as the CA bundle ca-certificates generated); deletes every file of
every other package, so no shell, coreutils, dpkg or apt remain. Paths are resolved
inside ROOT (absolute links point into ROOT, never at the host).

Usage: python3 distroless.py ROOT PACKAGE...
"""

import os
import sys
from pathlib import Path


def inside(root: Path, path: str) -> Path | None:
    """ROOT/path with every directory component resolved inside ROOT, or None."""
    cur = root
    parts = [p for p in path.split("/") if p]
    for depth, part in enumerate(parts[:-1]):
        nxt = cur / part
        for _ in range(40):
            if not nxt.is_symlink():
                break
            target = os.readlink(nxt)
            nxt = (root / target.lstrip("/")) if target.startswith("/") else (nxt.parent / target)
            nxt = Path(os.path.normpath(nxt))
        if not str(nxt).startswith(str(root) + "/") and nxt != root:
            return None
        cur = nxt
    return cur / parts[-1] if parts else None


def main(root: Path, keep: set[str]) -> None:
    info = root / "var/lib/dpkg/info"
    owned: dict[str, set[str]] = {}
    for lst in info.glob("*.list"):
        pkg = lst.stem.split(":")[0]
        owned[pkg] = {line.rstrip("\n") for line in lst.open() if line.strip()}
    kept = set().union(*(owned.get(p, set()) for p in keep))
    missing = keep - owned.keys()
    if missing:
        sys.exit(f"distroless.py: not installed: {sorted(missing)}")
    doomed = set().union(*(files for p, files in owned.items() if p not in keep)) - kept
    removed = 0
    for path in sorted(doomed, key=len, reverse=True):
        if path.count("/") < 2:  # never a top-level entry (the merged-/usr links)
            continue
        full = inside(root, path)
        if full is None:
            continue
        if full.is_symlink() or full.is_file():
            full.unlink()
            removed += 1
    # Links left pointing at deleted files (alternatives), resolved inside ROOT.
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames + dirnames:
            p = Path(dirpath) / name
            if p.is_symlink():
                target = os.readlink(p)
                t = root / target.lstrip("/") if target.startswith("/") else p.parent / target
                if str(p.relative_to(root)).count("/") >= 1 and not os.path.lexists(os.path.normpath(t)):
                    p.unlink()
    print(f"distroless.py: removed {removed} files of {len(owned) - len(keep)} packages")


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve(), set(sys.argv[2:]))
