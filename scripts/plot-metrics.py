#!/usr/bin/env python3
"""scripts/plot-metrics.py - plot panels of the Grafana dashboard
(conf/grafana/strait.json) from a Prometheus as one SVG, with nothing but
the Python standard library: the same PromQL as the dashboard, so the
picture in docs/observability.md shows what Grafana would.

  # query a live Prometheus (range: the last 4 minutes), keep the data
  scripts/plot-metrics.py --prom http://127.0.0.1:9090 --minutes 4 \\
      --panel 'Canary share (new flows)' --data docs/img/lab-metrics.json \\
      -o docs/img/lab-metrics.svg
  # draw again from the kept data (all its panels, or those named), no
  # Prometheus needed
  scripts/plot-metrics.py --data docs/img/lab-metrics.json -o docs/img/lab-metrics.svg

Dashboard variables: $__rate_interval becomes --rate-interval, $service
--service, $instance any instance. Within a panel, a series' colour
follows its service and backend, and the first query is drawn solid, the
others dashed (weight share beside observed share, p99 beside p50).
"""
import argparse
import json
import math
import os
import re
import sys
import time
import urllib.parse
import urllib.request
from xml.sax.saxutils import escape

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
           "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
W, PH = 900, 280                      # width, height of one panel
ML, MR, MT, MB = 70, 290, 34, 40      # margins: axis labels left, legend right


def query_range(prom, expr, start, end, step):
    q = urllib.parse.urlencode({"query": expr, "start": start, "end": end, "step": step})
    with urllib.request.urlopen(f"{prom}/api/v1/query_range?{q}", timeout=10) as r:
        ans = json.load(r)
    if ans.get("status") != "success":
        sys.exit(f"plot-metrics: {expr}: {ans.get('error')}")
    return ans["data"]["result"]


def fill_vars(expr, args):
    return (expr.replace("$__rate_interval", args.rate_interval)
            .replace("$instance", ".+").replace("$service", args.service))


def legend(fmt, labels):
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), fmt).strip()


def fetch(args):
    """Query every target of the chosen panels; the data file's form."""
    dash = json.load(open(args.dashboard))
    panels = {p["title"]: p for p in dash["panels"]}
    end = time.time()
    start = end - args.minutes * 60
    out = {"start": start, "end": end, "marks": [], "panels": []}
    for title in args.panel:
        if title not in panels:
            sys.exit(f"plot-metrics: no panel '{title}' in {args.dashboard}")
        p = panels[title]
        unit = p["fieldConfig"]["defaults"].get("unit", "none")
        series = []
        for i, t in enumerate(p["targets"]):
            for r in query_range(args.prom, fill_vars(t["expr"], args), start, end, args.step):
                series.append({"target": i, "labels": r["metric"],
                               "name": legend(t.get("legendFormat", ""), r["metric"]),
                               "points": [[float(x), float(v)] for x, v in r["values"]]})
        out["panels"].append({"title": title, "unit": unit, "series": series})
    return out


def nice_ticks(lo, hi, n=5):
    if hi <= lo:
        hi = lo + 1
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = min((s * mag for s in (1, 2, 2.5, 5, 10) if s * mag >= raw), default=10 * mag)
    first = math.floor(lo / step) * step
    ticks = []
    t = first
    while t <= hi + step * 1e-9:
        ticks.append(round(t, 12))
        t += step
    return ticks


def fmt_value(v, unit):
    if unit == "percentunit":
        return f"{v * 100:.0f}%"
    if unit == "s":
        return f"{v * 1e6:.0f} us" if v < 1e-3 else f"{v * 1e3:.3g} ms" if v < 1 else f"{v:.3g} s"
    if unit in ("cps", "pps"):
        return f"{v / 1e3:.3g}k/s" if v >= 1e3 else f"{v:.3g}/s"
    if unit == "Bps":
        return f"{v / 1e3:.3g} kB/s" if v >= 1e3 else f"{v:.3g} B/s"
    return f"{v:.3g}"


def draw_panel(svg, p, y0, t0, t1, colors):
    pw, ph = W - ML - MR, PH - MT - MB
    pts = [v for s in p["series"] for _, v in s["points"] if math.isfinite(v)]
    lo = 0.0
    hi = max(pts) * 1.1 if pts else 1.0
    if p["unit"] == "percentunit":
        hi = min(1.0, max(hi, 0.1))
    ticks = nice_ticks(lo, hi)
    hi = ticks[-1]
    x = lambda t: ML + (t - t0) / (t1 - t0) * pw
    y = lambda v: y0 + MT + ph - (v - lo) / (hi - lo) * ph
    svg.append(f'<text x="{ML}" y="{y0 + 20}" font-size="15" font-weight="bold">{escape(p["title"])}</text>')
    for tv in ticks:
        svg.append(f'<line x1="{ML}" x2="{ML + pw}" y1="{y(tv):.1f}" y2="{y(tv):.1f}" stroke="#ddd"/>')
        svg.append(f'<text x="{ML - 6}" y="{y(tv) + 4:.1f}" font-size="11" text-anchor="end">'
                   f'{escape(fmt_value(tv, p["unit"]))}</text>')
    for tx in nice_ticks(0, t1 - t0, 8):
        if tx > t1 - t0:
            continue
        svg.append(f'<line x1="{x(t0 + tx):.1f}" x2="{x(t0 + tx):.1f}" y1="{y0 + MT}" y2="{y0 + MT + ph}" stroke="#eee"/>')
        svg.append(f'<text x="{x(t0 + tx):.1f}" y="{y0 + MT + ph + 15}" font-size="11" '
                   f'text-anchor="middle">{tx:.0f}</text>')
    svg.append(f'<text x="{ML + pw / 2}" y="{y0 + MT + ph + 32}" font-size="11" text-anchor="middle">'
               f'seconds</text>')
    svg.append(f'<rect x="{ML}" y="{y0 + MT}" width="{pw}" height="{ph}" fill="none" stroke="#999"/>')
    ly = y0 + MT + 4
    lstep = min(16, (PH - MT - 8) / max(1, len(p["series"])))
    for s in sorted(p["series"], key=lambda s: (s["target"], s["name"])):
        # One colour per backend across a panel's queries, else per series.
        lb = s["labels"]
        key = (lb.get("service"), lb["backend"]) if "backend" in lb else s["name"]
        color = colors.setdefault(key, PALETTE[len(colors) % len(PALETTE)])
        dash = ' stroke-dasharray="6 4"' if s["target"] else ""
        runs, cur = [], []
        for t, v in s["points"]:
            if math.isfinite(v):
                cur.append(f"{x(t):.1f},{y(v):.1f}")
            elif cur:
                runs.append(cur)
                cur = []
        runs.append(cur)
        for r in runs:
            if len(r) > 1:
                svg.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.8"{dash} points="{" ".join(r)}"/>')
        svg.append(f'<line x1="{W - MR + 12}" x2="{W - MR + 36}" y1="{ly + 6}" y2="{ly + 6}" '
                   f'stroke="{color}" stroke-width="2"{dash}/>')
        svg.append(f'<text x="{W - MR + 42}" y="{ly + 10}" font-size="{min(11, lstep - 1):.0f}">'
                   f'{escape(s["name"])}</text>')
        ly += lstep
    return pw, ph, x


def render(data):
    t0, t1 = data["start"], data["end"]
    n = len(data["panels"])
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{PH * n + 10}" '
           f'font-family="sans-serif">', f'<rect width="{W}" height="{PH * n + 10}" fill="white"/>']
    colors = {}
    for i, p in enumerate(data["panels"]):
        y0 = i * PH
        pw, ph, x = draw_panel(svg, p, y0, t0, t1, colors)
        for m in data.get("marks", []):
            mx = x(t0 + m["t"])
            svg.append(f'<line x1="{mx:.1f}" x2="{mx:.1f}" y1="{y0 + MT}" y2="{y0 + MT + ph}" '
                       f'stroke="#333" stroke-dasharray="2 3"/>')
            if i == 0:
                svg.append(f'<text x="{mx + 4:.1f}" y="{y0 + MT + 12}" font-size="11">{escape(m["text"])}</text>')
    svg.append("</svg>")
    return "\n".join(svg) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prom", help="Prometheus URL; without it, --data is read")
    ap.add_argument("--dashboard", default=os.path.join(ROOT, "conf/grafana/strait.json"))
    ap.add_argument("--panel", action="append", default=[], help="panel title (repeat)")
    ap.add_argument("--minutes", type=float, default=5, help="range: the last N minutes")
    ap.add_argument("--step", type=float, default=5, help="seconds between points")
    ap.add_argument("--rate-interval", default="30s", help="$__rate_interval")
    ap.add_argument("--service", default=".+", help="$service (a regex)")
    ap.add_argument("--mark", action="append", default=[],
                    help="SECONDS:TEXT, a vertical line SECONDS after the range's start")
    ap.add_argument("--data", help="JSON file: written after querying, read without --prom")
    ap.add_argument("-o", "--output", required=True, help="SVG file to write")
    args = ap.parse_args()
    if args.prom:
        if not args.panel:
            ap.error("--panel: which panels to plot")
        data = fetch(args)
    elif args.data:
        data = json.load(open(args.data))
        if args.panel:
            data["panels"] = [p for p in data["panels"] if p["title"] in args.panel]
    else:
        ap.error("--prom or --data")
    if args.mark:
        data["marks"] = [{"t": float(t), "text": text}
                         for t, _, text in (m.partition(":") for m in args.mark)]
    if args.prom and args.data:
        with open(args.data, "w") as f:
            json.dump(data, f, indent=1)
    with open(args.output, "w") as f:
        f.write(render(data))
    print(f"plot-metrics: {args.output}: {sum(len(p['series']) for p in data['panels'])} series "
          f"in {len(data['panels'])} panels")


if __name__ == "__main__":
    main()
