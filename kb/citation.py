"""How provisions are written when cited: 第三十三条第二款, 二、（一）2., 基本案情."""

from __future__ import annotations

import re

from kb.numerals import CN_NUMERAL_RE, int_to_cn

_CN_NUMBER = re.compile(CN_NUMERAL_RE)


def render_path(path: str, paragraph: int | None = None) -> str:
    """Provision path → the form used in a 决定书 or a training answer.

    ``第三十三条`` (+ 款) for articles; plan paths ``二/（一）/2`` become 二、（一）2.;
    case sections and 序言 stay as they are.
    """
    if path.startswith("第") and "条" in path:
        return path + (f"第{int_to_cn(paragraph)}款" if paragraph else "")
    out = []
    for p in path.split("/"):
        if p.isdigit():
            out.append(f"{p}.")
        elif _CN_NUMBER.fullmatch(p):
            out.append(f"{p}、")
        else:  # （一）, （1）, case sections, 序言
            out.append(p)
    return "".join(out)
