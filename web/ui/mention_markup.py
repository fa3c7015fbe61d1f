"""A note's @handles marked in its HTML (issue 16; a leaf the template environment imports).

`highlight` works on a note's HTML as web/markup.py made it (sanitised by nh3): it touches only
text between tags, outside links and code, and only the handles the note's event recorded as
naming someone. A handle holds letters, digits and `._-@` only (domain/mentions.py), none of
which HTML treats specially, and is escaped all the same: a login cannot inject markup.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from markupsafe import Markup, escape

_TAG = re.compile(r"(<[^>]*>)")
_SKIP = ("a", "code", "pre")


def highlight(html: str, handles: Iterable[str] | None) -> Markup:
    """`html` with each `@handle` of `handles` (as the note recorded them) marked."""
    wanted = sorted({h for h in handles or () if h}, key=len, reverse=True)
    if not wanted:
        return Markup(html)
    alternatives = "|".join(re.escape(str(escape(h))) for h in wanted)
    mention = re.compile(rf"(?<![\w.@+-])@({alternatives})(?![\w@-]|\.\w)", re.IGNORECASE)
    parts, inside = [], 0
    for part in _TAG.split(str(html)):
        if part.startswith("<"):
            name = part.strip("</>").split(None, 1)[0].lower() if part.strip("</>") else ""
            if name in _SKIP:
                inside += -1 if part.startswith("</") else 1
            parts.append(part)
        elif inside > 0:
            parts.append(part)
        else:
            parts.append(mention.sub(r'<mark class="mention">@\1</mark>', part))
    return Markup("".join(parts))
