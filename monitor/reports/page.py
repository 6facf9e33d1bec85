"""The HTML frame every report shares: escaping, inline CSS, one self-contained page.

Paths and user names come from whoever named the files and accounts; they are
escaped, and control or format characters (a right-to-left override can make
`gpj.exe` read as `exe.jpg`) are shown as `\\u....` escapes rather than
obeyed. A Content-Security-Policy forbids the page to load anything, so a
report mailed to a client can neither fetch nor leak anything when opened.
"""

from __future__ import annotations

import html
import unicodedata
from collections.abc import Iterable, Sequence

# Latin fonts first; Chinese glyphs fall back to the first CJK font installed (on Debian
# fonts-noto-cjk or fonts-wqy-microhei: without one, Chinese prints as empty boxes).
CSS = """
@page { size: A4; margin: 14mm 12mm; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial,
       "Noto Sans CJK SC", "WenQuanYi Micro Hei", "Microsoft YaHei", "PingFang SC", sans-serif;
       color: #1d2733; margin: 0 auto; max-width: 1120px; padding: 24px 28px;
       font-size: 14px; line-height: 1.45; background: #fff; }
header { border-bottom: 3px solid #1f4e79; padding-bottom: 10px; margin-bottom: 16px; }
h1 { font-size: 24px; margin: 0 0 4px; color: #1f4e79; }
h2 { font-size: 17px; margin: 24px 0 8px; color: #1f4e79; border-bottom: 1px solid #d5dde6;
     padding-bottom: 3px; break-after: avoid; }
.sub { color: #5b6b7b; font-size: 13px; }
.summary { background: #f3f6fa; border-left: 4px solid #1f4e79; padding: 10px 16px;
           margin: 8px 0 12px; }
.summary p { margin: 4px 0; }
.summary p.bad { color: #a4161a; font-weight: 600; }
table { border-collapse: collapse; width: 100%; margin: 4px 0 8px; font-size: 13px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #e3e8ee;
         vertical-align: top; }
th { background: #eef2f7; font-weight: 600; white-space: nowrap; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
td.path { font-family: "DejaVu Sans Mono", Menlo, Consolas, "WenQuanYi Micro Hei Mono",
                       "Noto Sans Mono CJK SC", monospace; font-size: 12px;
          word-break: break-all; }
tr { break-inside: avoid; }
.bad { color: #a4161a; font-weight: 600; }
.warn { color: #9a5b00; }
.ok { color: #2b7a3d; }
.muted { color: #6b7785; }
.charts { display: grid; grid-template-columns: 1fr; gap: 14px; }
figure { margin: 0; break-inside: avoid; }
figcaption { font-weight: 600; margin-bottom: 4px; }
.note { color: #6b7785; font-size: 12px; margin: 2px 0 6px; }
footer { margin-top: 28px; color: #6b7785; font-size: 12px; border-top: 1px solid #d5dde6;
         padding-top: 6px; }
svg text { font-family: inherit; }
"""

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def visible(text: str) -> str:
    """`text` with control and format characters written as escapes."""
    out: list[str] = []
    for c in text:
        if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp"):
            out.append(f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}")
        else:
            out.append(c)
    return "".join(out)


def esc(value: object) -> str:
    """Any value as safe HTML text (attribute-safe too)."""
    return html.escape(visible(str(value)), quote=True)


def document(lang: str, title: str, body: Iterable[str]) -> str:
    return "".join([
        "<!DOCTYPE html>\n",
        f'<html lang="{esc(lang)}"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>\n",
        *body,
        "\n</body></html>\n",
    ])


def table(headers: Sequence[tuple[str, str]], rows: Iterable[Sequence[tuple[str, str]]],
          empty: str) -> str:
    """A table; each header and cell is (css class, already-escaped HTML)."""
    body = ["<tr>" + "".join(f'<td class="{c}">{h}</td>' for c, h in row) + "</tr>"
            for row in rows]
    if not body:
        return f'<p class="muted">{esc(empty)}</p>'
    head = "".join(f'<th class="{c}">{h}</th>' for c, h in headers)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
