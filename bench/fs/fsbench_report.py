#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Summarise one fsbench.sh result directory.

Reads DIR/results.tsv (one row per timed command), DIR/configs.tsv (name,
volatile flag, mount command) and, when present, DIR/fuse-ops.tsv. Writes
DIR/summary.md (also printed), DIR/ratios.tsv, DIR/chart.dat and, when
gnuplot is installed, DIR/chart.png.

Method: a ratio compares two configurations within one repetition (same
workload, minutes apart), then the median over repetitions is reported.
The reference of a plain configuration is "kovl" (kernel overlayfs), that of
a volatile one "kovl-vol". Failed commands are left out and listed.
walk-warm keeps, per run, the fastest of its samples that no foreign cache
drop disturbed.

Exit status: 0, or 1 when the directory cannot be read.
"""

import csv
import math
import os
import shutil
import statistics
import subprocess
import sys

METRICS = ["untar", "walk-cold", "walk-warm", "readall", "seqread",
           "seqwrite", "copyup", "rmtree", "fsync", "sqlite"]
SYNC_METRICS = {"fsync", "sqlite"}
LABELS = {
    "untar": "untar (create+write+setattr)",
    "walk-cold": "find+stat walk, cold",
    "walk-warm": "find+stat walk, warm",
    "readall": "read every file (tar c), cold",
    "seqread": "sequential read",
    "seqwrite": "sequential write + fsync",
    "copyup": "copy-up of small files",
    "rmtree": "rm -rf of a lower subtree",
    "fsync": "write+fsync+rename loop",
    "sqlite": "sqlite, synchronous=FULL",
}
# metric -> (config the target is about, maximum ratio to its reference)
TARGETS = {
    "untar": ("errovl", 2.0),
    "walk-cold": ("errovl", 1.5),
    "readall": ("errovl", 1.5),
    "seqread": ("errovl", 1.3),
    "seqwrite": ("errovl", 1.3),
    "copyup": ("errovl", 1.0),
    "rmtree": ("errovl", 2.0),
    "fsync": ("errovl-vol", 1.5),
    "sqlite": ("errovl-vol", 1.5),
}
# fuse-overlayfs sibling of each errovl configuration, for the target table
PEER = {"errovl": "fovl", "errovl-vol": "fovl-nosync"}
PREFERRED_ORDER = ["bare", "kovl", "fovl", "errovl", "kovl-vol",
                   "fovl-nosync", "errovl-vol"]


def read_tsv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t",
                                   quoting=csv.QUOTE_NONE))


def fnum(s):
    try:
        return float(s)
    except (TypeError, ValueError):
        return None


def fmt_s(x):
    if x is None:
        return "–"
    if x >= 100:
        return "%.0f" % x
    if x >= 10:
        return "%.1f" % x
    return "%.2f" % x


def fmt_r(x):
    return "–" if x is None else "%.2f×" % x


class Results:
    """Samples per (metric, config, rep) plus what went wrong."""

    def __init__(self, outdir):
        self.outdir = outdir
        self.rows = read_tsv(os.path.join(outdir, "results.tsv"))
        self.vol = {}
        self.cmd = {}
        cpath = os.path.join(outdir, "configs.tsv")
        if os.path.exists(cpath):
            with open(cpath, encoding="utf-8") as f:
                for line in f:
                    parts = line.rstrip("\n").split("\t")
                    if len(parts) >= 3:
                        self.vol[parts[0]] = parts[1] == "1"
                        self.cmd[parts[0]] = parts[2]
        self.failures = []
        self.samples = {}   # (metric, cfg, rep) -> row dict (best)
        self.disturbed = 0
        for r in self.rows:
            self._add(r)
        seen = []
        for r in self.rows:
            if r["config"] not in seen:
                seen.append(r["config"])
        self.configs = ([c for c in PREFERRED_ORDER if c in seen] +
                        [c for c in seen if c not in PREFERRED_ORDER])
        for c in self.configs:
            self.vol.setdefault(c, c.endswith("-vol") or
                                c.endswith("-nosync"))

    def _add(self, r):
        if r["rc"] != "0":
            self.failures.append(r)
            return
        r["wall"] = fnum(r["wall_s"])
        key = (r["name"], r["config"], r["rep"])
        if r["name"] == "walk-warm":
            if r.get("ext_drops") not in ("0", None):
                self.disturbed += 1
                return
            old = self.samples.get(key)
            if old is not None and old["wall"] <= r["wall"]:
                return
        self.samples[key] = r

    def reps(self):
        return sorted({k[2] for k in self.samples}, key=int)

    def reference(self, cfg):
        if self.vol.get(cfg) and "kovl-vol" in self.configs:
            return "kovl-vol"
        return "kovl" if "kovl" in self.configs else None

    def walls(self, metric, cfg):
        return [self.samples[(metric, cfg, rep)]["wall"]
                for rep in self.reps() if (metric, cfg, rep) in self.samples]

    def ratios(self, metric, cfg):
        ref = self.reference(cfg)
        if ref is None or ref == cfg:
            return []
        out = []
        for rep in self.reps():
            a = self.samples.get((metric, cfg, rep))
            b = self.samples.get((metric, ref, rep))
            if a and b and b["wall"] > 0:
                out.append(a["wall"] / b["wall"])
        return out

    def column(self, metric, cfg, col):
        vals = []
        for rep in self.reps():
            s = self.samples.get((metric, cfg, rep))
            if s is not None and fnum(s.get(col)) is not None:
                vals.append(fnum(s[col]))
        return vals

    def metrics(self):
        names = {k[0] for k in self.samples}
        return [m for m in METRICS if m in names]


def median(vals):
    return statistics.median(vals) if vals else None


def spread(vals):
    if len(vals) < 2:
        return ""
    return " %.2f–%.2f" % (min(vals), max(vals))


def table(head, rows):
    out = ["| " + " | ".join(head) + " |",
           "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def section_times(res):
    head = ["workload"] + res.configs
    rows = []
    for m in res.metrics():
        row = [m]
        for c in res.configs:
            w = median(res.walls(m, c))
            if w is None:
                row.append("")
                continue
            rs = res.ratios(m, c)
            cell = fmt_s(w)
            if rs:
                cell += " (%s)" % fmt_r(median(rs))
            row.append(cell)
        rows.append(row)
    refs = ", ".join("%s→%s" % (c, res.reference(c)) for c in res.configs
                     if res.reference(c) not in (None, c))
    return (["## Median wall time in seconds (median ratio to the "
             "reference)", "",
             "References: %s. Empty cell: not run (volatile configurations "
             "only run the sync workloads unless --all-pairs; null ones, "
             "without a lower layer, untar, seqwrite and fsync)." % refs,
             ""] +
            table(head, rows))


def section_targets(res):
    rows = []
    verdicts = []
    for m in METRICS:
        if m not in TARGETS:
            continue
        cfg, limit = TARGETS[m]
        if cfg not in res.configs:
            continue
        ref = res.reference(cfg)
        peer = PEER.get(cfg)
        rs = res.ratios(m, cfg)
        prs = res.ratios(m, peer) if peer in res.configs else []
        if not rs:
            verdict = "not measured"
        elif median(rs) <= limit:
            verdict = "met"
        else:
            verdict = "**missed**"
        verdicts.append(verdict)
        rows.append([LABELS[m], "%s = 1.0" % ref,
                     (fmt_r(median(prs)) + spread(prs)) if prs else "–",
                     (fmt_r(median(rs)) + spread(rs)) if rs else "–",
                     "≤ %.1f×" % limit, verdict, str(len(rs))])
    mem = memory_rows(res)
    if "errovl" in mem and "fovl" in mem:
        e, f = mem["errovl"][1], mem["fovl"][1]
        verdict = "met" if e <= f else "**missed**"
        rows.append(["daemon VmHWM after the cold walk", "–",
                     "%d MiB" % (f / 1024), "%d MiB" % (e / 1024),
                     "≤ fuse-overlayfs", verdict,
                     str(len(res.column("walk-cold", "errovl", "hwm_kb")))])
    if not rows:
        return []
    head = ["workload", "kernel", "fuse-overlayfs", "errovl", "target",
            "status", "reps"]
    return (["## Targets (median of per-repetition ratios, min–max)", ""] +
            table(head, rows))


def memory_rows(res):
    out = {}
    for c in res.configs:
        rss = res.column("walk-cold", c, "rss_kb")
        hwm = res.column("walk-cold", c, "hwm_kb")
        fds = res.column("walk-cold", c, "fds")
        if rss and hwm:
            out[c] = (median(rss), median(hwm), median(fds))
    return out


def section_memory(res):
    mem = memory_rows(res)
    if not mem:
        return []
    rows = [[c, "%.1f" % (v[0] / 1024), "%.1f" % (v[1] / 1024),
             "–" if v[2] is None else "%d" % v[2]]
            for c, v in mem.items()]
    return (["## Daemon memory right after the cold walk (median)", "",
             "Open fds pin kernel objects (file, dentry, inode) that VmRSS "
             "does not show.", ""] +
            table(["config", "VmRSS MiB", "VmHWM MiB", "open fds"], rows))


def section_cpu(res):
    rows = []
    fg = [c for c in res.configs if res.cmd.get(c, "").startswith("fg:")]
    for m in res.metrics():
        row = [m]
        for c in res.configs:
            busy = median(res.column(m, c, "cpu_busy_s"))
            dcpu = median(res.column(m, c, "daemon_cpu_s"))
            if busy is None:
                row.append("")
            elif c in fg and dcpu is not None:
                row.append("%s / %s" % (fmt_s(busy), fmt_s(dcpu)))
            else:
                row.append(fmt_s(busy))
        rows.append(row)
    return (["## CPU seconds: machine busy / daemon (median)", "",
             "Busy CPU counts the whole machine, including other jobs; on "
             "2 cores it can exceed the wall time.", ""] +
            table(["workload"] + res.configs, rows))


def section_ops(res):
    path = os.path.join(res.outdir, "fuse-ops.tsv")
    if not os.path.exists(path):
        return []
    rows = []
    for r in read_tsv(path):
        counts = dict(kv.split("=", 1) for kv in r["ops"].split() if "=" in kv)
        total = counts.pop("total", "0")
        top = sorted(counts.items(), key=lambda kv: -int(kv[1]))
        rows.append([r["rep"], r["name"], r["config"], total,
                     " ".join("%s=%s" % kv for kv in top)])
    return (["## FUSE requests per timed command", ""] +
            table(["rep", "workload", "config", "total", "by opcode"], rows))


def section_notes(res):
    out = ["## Notes", ""]
    loads = [fnum(r.get("load1")) for r in res.rows
             if fnum(r.get("load1")) is not None]
    if loads:
        out.append("- 1-minute load average when timed commands started: "
                   "median %.2f, max %.2f (the machine has %d CPUs)."
                   % (median(loads), max(loads), os.cpu_count() or 0))
    drops = sum(int(r["ext_drops"]) for r in res.rows
                if (r.get("ext_drops") or "").isdigit())
    out.append("- Cache drops by other processes during timed commands: %d; "
               "walk-warm samples discarded for that: %d."
               % (drops, res.disturbed))
    for r in res.failures:
        note = r.get("note") or ""
        if len(note) > 160:
            note = note[:157] + "..."
        out.append("- FAILED: rep %s %s on %s: %s"
                   % (r["rep"], r["name"], r["config"], note))
    return out


def write_chart(res):
    """chart.dat: one row per metric, a ratio column per non-reference config."""
    cfgs = [c for c in res.configs if res.reference(c) not in (None, c)]
    if not cfgs or not res.metrics():
        return None
    dat = os.path.join(res.outdir, "chart.dat")
    with open(dat, "w", encoding="utf-8") as f:
        f.write("workload\ttarget\t%s\n" % "\t".join(
            "%s/%s" % (c, res.reference(c)) for c in cfgs))
        for m in res.metrics():
            target = TARGETS.get(m, (None, math.nan))[1]
            vals = [median(res.ratios(m, c)) for c in cfgs]
            f.write("%s\t%s\t%s\n" % (m, target, "\t".join(
                "NaN" if v is None else "%.4f" % v for v in vals)))
    with open(os.path.join(res.outdir, "ratios.tsv"), "w",
              encoding="utf-8") as f:
        f.write("workload\tconfig\treference\tmedian\tmin\tmax\tn\n")
        for m in res.metrics():
            for c in cfgs:
                rs = res.ratios(m, c)
                if rs:
                    f.write("%s\t%s\t%s\t%.4f\t%.4f\t%.4f\t%d\n"
                            % (m, c, res.reference(c), median(rs), min(rs),
                               max(rs), len(rs)))
    if shutil.which("gnuplot") is None:
        return None
    png = os.path.join(res.outdir, "chart.png")
    gp = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                      "fsbench_chart.gp")
    title = "fsbench: time relative to kernel overlayfs (median of %d reps)" \
        % len(res.reps())
    low = [median(res.ratios(m, c)) for m in res.metrics() for c in cfgs]
    low = min([v for v in low if v] + [0.25])
    ymin = 2.0 ** math.floor(math.log2(low * 0.8))
    r = subprocess.run(["gnuplot", "-e", "datafile='%s'; outfile='%s'; "
                        "ncols=%d; charttitle='%s'; ymin=%g"
                        % (dat, png, len(cfgs) + 2, title, ymin), gp],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, check=False)
    if r.returncode != 0:
        print("fsbench_report.py: gnuplot failed: %s" % r.stdout.strip(),
              file=sys.stderr)
        return None
    return png


def main(argv):
    if len(argv) != 2:
        print("usage: fsbench_report.py RESULT_DIR", file=sys.stderr)
        return 2
    outdir = argv[1]
    try:
        res = Results(outdir)
    except (OSError, KeyError, csv.Error) as e:
        print("fsbench_report.py: cannot read %s: %s" % (outdir, e),
              file=sys.stderr)
        return 1
    lines = ["# fsbench results", ""]
    meta = os.path.join(outdir, "meta.txt")
    if os.path.exists(meta):
        with open(meta, encoding="utf-8") as f:
            lines += ["```"] + f.read().rstrip("\n").splitlines() + ["```",
                                                                      ""]
    for sect in (section_targets, section_times, section_memory,
                 section_cpu, section_ops, section_notes):
        part = sect(res)
        if part:
            lines += part + [""]
    png = write_chart(res)
    if png:
        lines.append("Chart: %s" % png)
    text = "\n".join(lines) + "\n"
    with open(os.path.join(outdir, "summary.md"), "w",
              encoding="utf-8") as f:
        f.write(text)
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
