#!/usr/bin/env python3
"""Every table of make bench, from the runs' artifacts alone.

    ci-matrix/bench-report.py [--check] BENCH_DIR README

Reads BENCH_DIR/runs/<run>/<arch>.tsv, as ci-matrix/bench.sh writes them: lines
"KIND<TAB>field=value...", KIND boot (one crash of a search), way (a search's verdict)
or scale (one scale crash), each with the run's facts (run, arch, commit, dirty, kernel,
cryptsetup, makedumpfile, qemu, host_cpus, boot_slots). Writes BENCH_DIR/bench.md and
BENCH_DIR/bench.json, and the blocks of README between "<!-- bench:NAME -->" and
"<!-- /bench:NAME -->", and tools/crashkey/sizing.h next to README (what crashkey's
reservation check holds a crashkernel= against). With --check it writes nothing and
fails, showing the difference, where a file is not what the artifacts give.

Per arch, each way's figures come from the newest run whose search found a boundary;
the open times from the newest run that found both crashkey's and the passphrase's,
so that both were measured under the same load; each scale row from the newest run
that measured it. Nothing here reads the machine it runs on.
"""
import difflib
import glob
import json
import lzma
import os
import re
import sys

WAYS = ("crashkey", "passphrase", "plain")
FACTS = ("run", "arch", "commit", "dirty", "kernel", "cryptsetup", "makedumpfile", "qemu",
         "host_cpus", "boot_slots")
SCALE_FIELDS = ("blob_bytes", "load_us", "keys_us", "restore_us", "unlock_us", "unlock_kib")
ARCH_ORDER = ("x86_64", "arm64", "ppc64le", "s390x")
# The compiler's name for each arch, for tools/crashkey/sizing.h.
ARCH_MACROS = {"x86_64": "__x86_64__", "arm64": "__aarch64__", "ppc64le": "__powerpc64__",
               "s390x": "__s390x__"}
MAINLINE_MAX_KEYS = 128


def mainline_blob_bytes(keys):
    """Linux 6.16's kdump key blob (kernel/crash_dump_dm_crypt.c): a 4-byte count, then
    388 bytes per key (struct dm_crypt_key: its size, 128 bytes of description, 256 of
    key); KEY_NUM_MAX keys at most."""
    return 4 + 388 * keys if keys <= MAINLINE_MAX_KEYS else None


def number(value):
    return None if value in (None, "-") else int(value)


def kernel_from_logs(run_dir, arch):
    """The release a run's boots of ARCH printed: for lines written without it."""
    for log in sorted(glob.glob(os.path.join(run_dir, arch, "*.log.xz"))):
        with lzma.open(log, "rt", errors="replace") as f:
            for text in f:
                found = re.search(r"Linux version (\S+)", text)
                if found:
                    return found.group(1)
    return "-"


def read_lines(bench_dir):
    """Every line of every run, as dicts with "kind"; a line that is not of this format
    stops the report: the artifacts are the figures' only source."""
    lines = []
    for path in sorted(glob.glob(os.path.join(bench_dir, "runs", "*", "*.tsv"))):
        with open(path) as f:
            for at, text in enumerate(f, 1):
                fields = text.rstrip("\n").split("\t")
                line = dict(x.split("=", 1) for x in fields[1:] if "=" in x)
                if fields[0] not in ("boot", "way", "scale") or \
                        any(k not in line for k in FACTS):
                    sys.exit(f"bench-report: {path}:{at}: not a line of make bench's artifacts")
                line["kind"] = fields[0]
                if line["kernel"] in ("", "-"):
                    line["kernel"] = kernel_from_logs(os.path.dirname(path), line["arch"])
                lines.append(line)
    return lines


def arch_key(arch):
    return (ARCH_ORDER.index(arch) if arch in ARCH_ORDER else len(ARCH_ORDER), arch)


def newest(lines, **match):
    found = [x for x in lines if all(x.get(k) == v for k, v in match.items())]
    return max(found, key=lambda x: x["run"]) if found else None


def way_figures(line):
    if not line:
        return None
    return {"run": line["run"], "failed_mib": int(line["failed_mib"]),
            "mib": int(line["mib"]), "flaky": [] if line["flaky"] == "-"
            else [int(x) for x in line["flaky"].split(",")],
            "boots": int(line["boots"]), "open_ms": number(line["open_ms"])}


def span(way):
    """The MiB range the smallest reservation lies in: (failed, found]."""
    return way["failed_mib"] + 1, way["mib"]


def exact_or_range(low, high):
    return low if low == high else [low, high]


def summarize(ways):
    a, b, c = (ways.get(w) for w in WAYS)
    out = {}
    if a and b:
        (a_lo, a_hi), (b_lo, b_hi) = span(a), span(b)
        out["passphrase_over_crashkey"] = exact_or_range(round(b_lo / a_hi, 2),
                                                           round(b_hi / a_lo, 2))
    if a and c:
        (a_lo, a_hi), (c_lo, c_hi) = span(a), span(c)
        out["crashkey_minus_plain_mib"] = exact_or_range(a_lo - c_hi, a_hi - c_lo)
    return out


def open_times(way_lines):
    """Both ways' open times from the newest run that found both."""
    for run in sorted({x["run"] for x in way_lines}, reverse=True):
        both = {x["way"]: x for x in way_lines if x["run"] == run}
        if all(w in both and number(both[w]["open_ms"]) for w in ("crashkey", "passphrase")):
            a, b = int(both["crashkey"]["open_ms"]), int(both["passphrase"]["open_ms"])
            return {"run": run, "crashkey_ms": a, "passphrase_ms": b, "ratio": round(b / a, 1)}
    return None


def scale_rows(lines):
    rows = {}
    for x in sorted(lines, key=lambda x: x["run"]):
        if x["kind"] != "scale" or x.get("outcome") != "ok":
            continue
        count = int(x["n"])
        row = {"mode": x["mode"], "keys": count, "run": x["run"],
               **{f: number(x.get(f)) for f in SCALE_FIELDS}}
        if row["blob_bytes"] is not None:
            row["bytes_per_key"] = round(row["blob_bytes"] / count)
            row["mainline_blob_bytes"] = mainline_blob_bytes(count)
        if row["unlock_us"] is not None:
            row["unlock_per_volume_us"] = round(row["unlock_us"] / count)
        if row["unlock_kib"] is not None:
            row["unlock_per_volume_kib"] = round(row["unlock_kib"] / count)
        rows[x["mode"], count] = row
    return sorted(rows.values(), key=lambda r: (r["mode"] == "volumes", r["keys"]))


def boots(lines, arch):
    """Every crash of the searches of the newest runs shown, in the order made."""
    out = {}
    for way in WAYS:
        shown = newest([x for x in lines if x["kind"] == "way" and x["verdict"] == "found"],
                       arch=arch, way=way)
        if shown:
            out[way] = [{"mib": int(x["mib"]), "outcome": x["outcome"], "reason": x["reason"],
                         "seconds": int(x["seconds"]), "log": f"runs/{x['run']}/{x['log']}"}
                        for x in lines if x["kind"] == "boot" and x["arch"] == arch
                        and x["way"] == way and x["run"] == shown["run"]]
    return out


def report(lines):
    arches = {}
    for arch in sorted({x["arch"] for x in lines}, key=arch_key):
        mine = [x for x in lines if x["arch"] == arch]
        found = [x for x in mine if x["kind"] == "way" and x["verdict"] == "found"]
        ways = {w: way_figures(newest(found, way=w)) for w in WAYS}
        ways = {w: v for w, v in ways.items() if v}
        failed = [{"way": x["way"], "run": x["run"], "reason": x["reason"]}
                  for x in mine if x["kind"] == "way" and x["verdict"] != "found"]
        arches[arch] = {"ways": ways, "summary": summarize(ways), "open": open_times(found),
                        "scale": scale_rows(mine), "boots": boots(mine, arch),
                        "searches_without_boundary": failed}
    shown = {way["run"] for a in arches.values() for way in a["ways"].values()} | \
        {r["run"] for a in arches.values() for r in a["scale"]}
    runs = {}
    for x in lines:
        if x["run"] not in shown:
            continue
        run = runs.setdefault(x["run"], {"arches": set(), "facts": set(), "boots": 0,
                                         "seconds": 0})
        run["arches"].add(x["arch"])
        run["facts"].add(tuple((k, x[k]) for k in FACTS if k not in ("run", "arch")))
        if x["kind"] in ("boot", "scale"):
            run["boots"] += 1
            run["seconds"] += int(x.get("seconds", 0))
    return {"arches": arches, "runs": {
        name: {"arches": sorted(r["arches"], key=arch_key), "boots": r["boots"],
               "boot_seconds": r["seconds"], "facts": [dict(f) for f in sorted(r["facts"])]}
        for name, r in sorted(runs.items())}}


# ---- markdown ------------------------------------------------------------------

def cell(value, unit=""):
    return "-" if value is None else f"{value}{unit}"


def table_head(*columns):
    return ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]


def ms(us):
    return "-" if us is None else f"{us / 1000:.1f} ms"


def seconds(ms_value):
    return f"{ms_value} ms" if ms_value < 10000 else f"{ms_value / 1000:.1f} s"


def mib_cell(way):
    if not way:
        return "-"
    low, high = span(way)
    text = f"{high} MiB" if low == high else f"{low} to {high} MiB"
    if way["flaky"]:
        text += " (flaky: " + ", ".join(map(str, way["flaky"])) + ")"
    return text


def range_cell(value, unit=""):
    if isinstance(value, list):
        return f"{value[0]} to {value[1]}{unit}"
    return cell(value, unit)


def ways_table(rep):
    lines = table_head("arch", "crashkey", "passphrase (Argon2id, 1 GiB)", "unencrypted",
                       "passphrase / crashkey", "crashkey - unencrypted", "open: crashkey",
                       "open: passphrase", "ratio")
    for arch, r in rep["arches"].items():
        w, s, t = r["ways"], r["summary"], r["open"]
        if not w:
            continue
        opened = [seconds(t["crashkey_ms"]), seconds(t["passphrase_ms"]), t["ratio"]] \
            if t else ["-"] * 3
        lines.append(f"| {arch} | {' | '.join(mib_cell(w.get(x)) for x in WAYS)} | "
                     f"{range_cell(s.get('passphrase_over_crashkey'))} | "
                     f"{range_cell(s.get('crashkey_minus_plain_mib'), ' MiB')} | "
                     f"{opened[0]} | {opened[1]} | {opened[2]} |")
    return lines


def mainline(keys):
    b = mainline_blob_bytes(keys)
    return f"{b} B" if b is not None else f"cannot (at most {MAINLINE_MAX_KEYS} keys)"


def scale_table(rep):
    lines = table_head("arch", "keys", "blob", "per key", "mainline's blob", "load",
                       "of which keys", "restore", "crashkey unlock", "per volume",
                       "memory per volume")
    for arch, r in rep["arches"].items():
        for row in r["scale"]:
            what = f"{row['keys']}" + (" volumes" if row["mode"] == "volumes" else "")
            lines.append(
                f"| {arch} | {what} | {cell(row['blob_bytes'], ' B')} | "
                f"{cell(row.get('bytes_per_key'), ' B')} | {mainline(row['keys'])} | "
                f"{ms(row['load_us'])} | {ms(row['keys_us'])} | {ms(row['restore_us'])} | "
                f"{ms(row['unlock_us'])} | {ms(row.get('unlock_per_volume_us'))} | "
                f"{cell(row.get('unlock_per_volume_kib'), ' KiB')} |")
    return lines


def scale_summary_table(rep):
    """The README's: 1024 keys and the volumes, one row per arch."""
    lines = table_head("arch", "1024 keys: blob", "the load's key work", "restore",
                       "volumes", "`crashkey unlock`", "per volume", "memory per volume")
    for arch, r in rep["arches"].items():
        keys = next((x for x in r["scale"] if x["mode"] == "keys" and x["keys"] == 1024), None)
        vols = next((x for x in r["scale"] if x["mode"] == "volumes"), None)
        if not keys and not vols:
            continue
        keys, vols = keys or {}, vols or {}
        lines.append(
            f"| {arch} | {cell(keys.get('blob_bytes'), ' B')} | {ms(keys.get('keys_us'))} | "
            f"{ms(keys.get('restore_us'))} | {cell(vols.get('keys'))} | "
            f"{ms(vols.get('unlock_us'))} | {ms(vols.get('unlock_per_volume_us'))} | "
            f"{cell(vols.get('unlock_per_volume_kib'), ' KiB')} |")
    return lines


def runs_sentence(rep, runs):
    """RUNS: each run and the arches whose figures it gave."""
    parts = []
    for name, arches in runs.items():
        r = rep["runs"][name]
        for f in r["facts"]:
            parts.append(
                f"run {name} ({', '.join(sorted(arches, key=arch_key))}): commit {f['commit']}"
                f"{' with uncommitted changes' if f['dirty'] == 'yes' else ''}, Linux "
                f"{f['kernel']}, cryptsetup {f['cryptsetup']}, makedumpfile "
                f"{f['makedumpfile']}, QEMU {f['qemu']} (TCG) on {f['host_cpus']} CPUs, "
                f"{f['boot_slots']} guests at a time")
    return "; ".join(parts) + "."


def shown_runs(rep, part):
    """Every run a table's figures come from, and for which arches."""
    runs = {}
    for arch, r in rep["arches"].items():
        if part == "ways":
            names = {w["run"] for w in r["ways"].values()}
            names |= {r["open"]["run"]} if r["open"] else set()
        else:
            names = {x["run"] for x in r["scale"]}
        for name in names:
            runs.setdefault(name, set()).add(arch)
    return dict(sorted(runs.items()))


def ways_conclusion(rep):
    diffs = {a: r["summary"].get("crashkey_minus_plain_mib") for a, r in rep["arches"].items()
             if "crashkey_minus_plain_mib" in r["summary"]}
    if not diffs:
        return []
    said = ", ".join(f"{a} {range_cell(d, ' MiB')}" for a, d in diffs.items())
    return [f"crashkey's smallest reservation minus the unencrypted one: {said}."]


def readme_blocks(rep):
    ways = ways_table(rep) + [""] + ways_conclusion(rep) + [
        "", "Measured by " + runs_sentence(rep, shown_runs(rep, "ways"))]
    scale = scale_summary_table(rep) + [
        "", "Measured by " + runs_sentence(rep, shown_runs(rep, "scale"))]
    return {"ways": "\n".join(ways), "scale": "\n".join(scale)}


def boots_section(rep):
    lines = ["## Every crash of the searches shown", ""]
    lines += table_head("arch", "way", "crashkernel= (MiB) in the order tried: outcome")
    reasons = {}
    for arch, r in rep["arches"].items():
        for way, crashes in r["boots"].items():
            if not crashes:
                continue
            tried = ", ".join(f"{b['mib']} {b['outcome']}" for b in crashes)
            lines.append(f"| {arch} | {way} | {tried} |")
            for b in crashes:
                if b["outcome"] != "ok":
                    key = (arch, way, b["outcome"], re.sub(r"\d+", "N", b["reason"]))
                    reasons.setdefault(key, []).append(b["mib"])
    lines += ["", "Why the others saved no dump (numbers in the reasons as N):", ""]
    lines += table_head("arch", "way", "outcome", "reason", "at MiB")
    for (arch, way, outcome, reason), mibs in reasons.items():
        lines.append(f"| {arch} | {way} | {outcome} | {reason.replace('|', '/')} | "
                     f"{', '.join(map(str, sorted(set(mibs))))} |")
    for arch, r in rep["arches"].items():
        for x in r["searches_without_boundary"]:
            lines.append(f"\nNo boundary: {arch}, {x['way']}, run {x['run']}: {x['reason']}")
    return lines


def markdown(rep):
    lines = ["# make bench: the tables", "",
             "Made by `make bench-report` (ci-matrix/bench-report.py) from `runs/`; "
             "every boot's console is there too, as `runs/<run>/<arch>/<boot>.log.xz`.", ""]
    if any(r["ways"] for r in rep["arches"].values()):
        lines += ["## The smallest crashkernel=", ""] + ways_table(rep) + [
            "",
            "Smallest `crashkernel=` with which the capture kernel saved a dump that the "
            "host read back as a complete ELF core (`makedumpfile -d 31`): one number "
            "where the search's boundary is 1 MiB wide and each of its ends was seen "
            "twice, else the range it left and the sizes that gave both outcomes. "
            "The time to open the dump volume in the capture kernel, both ways from "
            "the same run.", ""] + ways_conclusion(rep) + [""]
    if any(r["scale"] for r in rep["arches"].values()):
        lines += ["## Scale", ""] + scale_table(rep) + [
            "",
            "Keys handed over: synthetic ones registered through configfs, or LUKS2 "
            "volumes registered with `crashkey add`. Load: all of `kexec -s -p` in the "
            "first kernel, and the kernel's work on the keys within it; restore: the "
            "capture kernel's, alone or as the first step of `crashkey unlock`; memory "
            "per volume: how much less the capture kernel had available after the "
            f"unlock, per volume. Mainline's blob: 4 + 388 bytes per key, at most "
            f"{MAINLINE_MAX_KEYS} keys.", ""]
    lines += boots_section(rep) + ["", "## Runs", ""]
    lines += table_head("run", "arches", "crashes", "their time", "commit", "Linux",
                        "cryptsetup", "makedumpfile", "QEMU", "host CPUs", "guests at a time")
    for name, r in rep["runs"].items():
        for f in r["facts"]:
            lines.append(
                f"| {name} | {', '.join(r['arches'])} | {r['boots']} | "
                f"{r['boot_seconds'] // 60} min | {f['commit']}"
                f"{'-dirty' if f['dirty'] == 'yes' else ''} | {f['kernel']} | "
                f"{f['cryptsetup']} | {f['makedumpfile']} | {f['qemu']} | "
                f"{f['host_cpus']} | {f['boot_slots']} |")
    return "\n".join(lines) + "\n"


def sizing_header(rep):
    """Per arch, crashkey's smallest crashkernel= and one more volume's unlock memory."""
    out = ["/* SPDX-License-Identifier: GPL-2.0 */",
           "/* Written by ci-matrix/bench-report.py from docs/bench/runs: make bench-report. */",
           "#ifndef CRASHKEY_SIZING_H", "#define CRASHKEY_SIZING_H", "",
           "/*",
           " * SIZING_BASE_MIB: the smallest crashkernel= with which make bench's crashkey",
           " * way saved a dump (the matrix's kernel and initrd, one volume);",
           " * SIZING_VOLUME_KIB: what unlocking one more volume took, of 64. 0: not measured.",
           " */"]
    first = True
    for arch in ARCH_ORDER:
        a = rep["arches"].get(arch)
        way = a and a["ways"].get("crashkey")
        volumes = a and next((r for r in a["scale"] if r["mode"] == "volumes"
                              and r.get("unlock_per_volume_kib")), None)
        if not way or not volumes:
            continue
        out += [f"#{'if' if first else 'elif'} defined({ARCH_MACROS[arch]})",
                f"#define SIZING_BASE_MIB\t{span(way)[1]}\t/* run {way['run']} */",
                f"#define SIZING_VOLUME_KIB\t{volumes['unlock_per_volume_kib']}"
                f"\t/* run {volumes['run']} */"]
        first = False
    out += ["#else" if not first else "#if 1", "#define SIZING_BASE_MIB\t0",
            "#define SIZING_VOLUME_KIB\t0", "#endif", "", "#endif", ""]
    return "\n".join(out)


def with_blocks(text, blocks, path):
    for name, body in blocks.items():
        pattern = re.compile(rf"(<!-- bench:{name} -->\n)(?:.*?\n)?(<!-- /bench:{name} -->)",
                             re.S)
        if not pattern.search(text):
            sys.exit(f"bench-report: {path} has no <!-- bench:{name} --> block")
        text = pattern.sub(lambda m: m.group(1) + body + "\n" + m.group(2), text)
    return text


def main():
    args = sys.argv[1:]
    check = args[:1] == ["--check"]
    args = args[1:] if check else args
    if len(args) != 2:
        sys.exit(__doc__)
    bench_dir, readme = args
    lines = read_lines(bench_dir)
    if not lines:
        sys.exit(f"bench-report: no runs in {bench_dir}/runs")
    rep = report(lines)
    with open(readme) as f:
        old_readme = f.read()
    want = {os.path.join(bench_dir, "bench.md"): markdown(rep),
            os.path.join(bench_dir, "bench.json"): json.dumps(rep, indent=2) + "\n",
            readme: with_blocks(old_readme, readme_blocks(rep), readme),
            os.path.join(os.path.dirname(readme), "tools", "crashkey", "sizing.h"):
            sizing_header(rep)}
    differ = False
    for path, text in want.items():
        try:
            with open(path) as f:
                have = f.read()
        except FileNotFoundError:
            have = ""
        if have == text:
            continue
        if check:
            differ = True
            sys.stdout.writelines(difflib.unified_diff(
                have.splitlines(True), text.splitlines(True), path, path + " (from the runs)"))
        else:
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
    if differ:
        sys.exit("bench-report: the tables are not what docs/bench/runs gives: "
                 "make bench-report")


if __name__ == "__main__":
    main()
