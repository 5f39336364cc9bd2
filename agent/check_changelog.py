"""Check that a CHANGELOG follows the progress-file convention of this kit.

    python agent/check_changelog.py [CHANGELOG.md]      (exit 0 when it conforms)

Required, in this order: ``## Current status`` (dated, e.g. ``## Current status (2026-11-24)``),
``## Next steps`` (a numbered list), at least one dated entry ``## YYYY-MM-DD ...`` (newest
first), a ``Failed approaches`` section (``## Failed approaches...``; entries may also carry
their own ``### Failed approaches...``), ``## Known limitations``. Accuracy tables at
checkpoints are Markdown tables inside dated entries; at least one is required.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

DATE = r"\d{4}-\d{2}-\d{2}"


def check(text: str) -> list[str]:
    """The list of problems (empty when the file conforms)."""
    problems = []
    heads = [(m.start(), m.group(1)) for m in re.finditer(r"^## (.+)$", text, flags=re.MULTILINE)]
    titles = [t for _, t in heads]

    def index(pattern: str) -> int | None:
        for i, t in enumerate(titles):
            if re.match(pattern, t):
                return i
        return None

    status = index(rf"Current status \({DATE}\)")
    nxt = index(r"Next steps")
    dated = [i for i, t in enumerate(titles) if re.match(DATE, t)]
    failed = index(r"Failed approaches")
    limits = index(r"Known limitations")
    if status is None:
        problems.append("missing '## Current status (YYYY-MM-DD)'")
    if nxt is None:
        problems.append("missing '## Next steps'")
    if not dated:
        problems.append("no dated entry '## YYYY-MM-DD ...'")
    if failed is None:
        problems.append("missing '## Failed approaches ...' (what did not work, and why)")
    if limits is None:
        problems.append("missing '## Known limitations'")
    if not problems:
        if not status < nxt < dated[0]:
            problems.append("order: Current status, then Next steps, then the dated entries")
        if not dated[-1] < failed and dated[-1] < limits:
            problems.append("order: Failed approaches and Known limitations come after the dated entries")
        dates = [re.match(DATE, titles[i]).group(0) for i in dated]
        if dates != sorted(dates, reverse=True):
            problems.append(f"dated entries must be newest first: {dates}")
        start = heads[nxt][0]
        end = heads[nxt + 1][0] if nxt + 1 < len(heads) else len(text)
        if not re.search(r"^\d+[a-z]?\. ", text[start:end], flags=re.MULTILINE):
            problems.append("Next steps should be a numbered list")
        if not re.search(r"^\|.*\|\s*$\n^\|[-| :]+\|\s*$", text, flags=re.MULTILINE):
            problems.append("no Markdown table (accuracy tables at checkpoints)")
    return problems


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    path = Path(argv[0] if argv else "CHANGELOG.md")
    if not path.exists():
        print(f"{path}: not found", file=sys.stderr)
        return 2
    problems = check(path.read_text())
    for p in problems:
        print(f"{path}: {p}")
    if not problems:
        print(f"{path}: follows the progress-file convention")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
