"""The HTML report's stylesheet: inlined, so the report is one file that works offline, and
written beside it (``<name>.css``), so it also applies where a Content-Security-Policy refuses
inline styles (Jenkins's default ``style-src 'self'``). Charts and legend keys carry their colours
as SVG attributes and need none of it."""

from __future__ import annotations

__all__ = ["CSS"]

# System font stacks: no web fonts to fetch. Colours meet WCAG AA contrast against their
# backgrounds; print keeps the verdict colours (print-color-adjust) and avoids splitting charts.
CSS = """
:root{--fg:#1d2329;--muted:#5b6470;--line:#d9dee4;--bg:#fff;--soft:#f5f7f9;
--pass:#1e7b34;--warning:#8f5300;--fail:#b71c1c;--nodata:#4f5863}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);
font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","DejaVu Sans",sans-serif;
-webkit-print-color-adjust:exact;print-color-adjust:exact}
main{max-width:1200px;margin:0 auto;padding:28px 32px 40px}
code,.q{font-family:ui-monospace,"SFMono-Regular",Menlo,Consolas,"DejaVu Sans Mono",monospace;
font-size:.92em}
h1{font-size:26px;margin:2px 0 10px;font-weight:650;word-break:break-all}
h2{font-size:18px;margin:30px 0 10px;padding-bottom:4px;border-bottom:1px solid var(--line)}
.kicker{margin:0;color:var(--muted);font-size:13px;letter-spacing:.06em;text-transform:uppercase}
.meta{display:flex;flex-wrap:wrap;gap:6px 28px;margin:0;color:var(--muted);font-size:14px}
.meta div{display:flex;gap:6px}.meta dt{font-weight:600}.meta dd{margin:0;color:var(--fg)}
.verdict{display:flex;align-items:center;gap:20px;margin:20px 0;padding:18px 24px;
border-radius:10px;color:#fff}
.verdict .glyph{font-size:44px;font-weight:800;line-height:1;width:56px;height:56px;
display:flex;align-items:center;justify-content:center;border:3px solid #fff;border-radius:50%}
.vtext{margin:0;font-size:34px;font-weight:800;letter-spacing:.04em;line-height:1.1}
.vdetail{margin:2px 0 0;font-size:16px;opacity:.95}
.v-pass{background:var(--pass)}.v-warning{background:var(--warning)}
.v-fail{background:var(--fail)}.v-no_data,.v-unknown,.v-skip,.v-error{background:var(--nodata)}
.figures{display:grid;grid-template-columns:repeat(auto-fit,minmax(130px,1fr));gap:10px;margin:0}
.figures div{background:var(--soft);border:1px solid var(--line);border-radius:8px;
padding:10px 14px}
.figures dt{color:var(--muted);font-size:13px}
.figures dd{margin:0;font-size:22px;font-weight:650;font-variant-numeric:tabular-nums}
.keylines{color:var(--muted);margin:10px 0 0;font-size:14px}
section{overflow-x:auto}
table{width:100%;border-collapse:collapse;font-size:14px}
th{text-align:left;font-weight:600;color:var(--muted);border-bottom:2px solid var(--line);
padding:6px 8px;white-space:nowrap}
td{padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}
tbody tr:nth-child(even){background:var(--soft)}
.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.name,.err{word-break:break-word}.err{font-family:ui-monospace,Menlo,Consolas,monospace;
font-size:13px}
.bad{color:var(--fail);font-weight:600}.warn{color:var(--warning);font-weight:600}
tfoot td{font-weight:650;border-top:2px solid var(--line)}
.badge{display:inline-block;padding:1px 9px;border-radius:99px;color:#fff;font-size:12px;
font-weight:700;white-space:nowrap}
.detail{color:var(--muted);font-size:13px}
details summary{color:var(--muted);font-size:12px;cursor:pointer}
.q{display:block;white-space:pre-wrap;word-break:break-all;background:var(--soft);
padding:6px 8px;border-radius:4px;font-size:12px}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(520px,100%),1fr));gap:18px}
figure{margin:0;border:1px solid var(--line);border-radius:8px;padding:10px 12px 6px;
break-inside:avoid}
figure.wide{grid-column:1/-1}
figcaption{font-weight:600;margin-bottom:4px}
svg.chart{width:100%;height:auto;display:block}
.legend{list-style:none;display:flex;flex-wrap:wrap;gap:4px 16px;padding:0;margin:6px 0 4px;
font-size:13px}
.legend li{display:flex;align-items:center;gap:6px}
.swatch,.th{display:inline-block;flex:none}
.hint{color:var(--muted);font-size:13px;margin:0 0 8px}
.ok{color:var(--pass);font-weight:600}
.notes li{color:var(--muted)}
footer{margin-top:36px;color:var(--muted);font-size:12px;border-top:1px solid var(--line);
padding-top:10px}
@media print{main{max-width:none;padding:0}body{font-size:11pt}
.charts{grid-template-columns:1fr 1fr}figure,table,tr,.verdict{break-inside:avoid}
details{display:none}h2{break-after:avoid}}
"""
