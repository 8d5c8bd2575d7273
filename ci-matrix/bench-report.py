#!/usr/bin/env python3
"""The tables of make bench, from the per-arch results of ci-matrix/bench.sh.

    ci-matrix/bench-report.py BENCH_DIR TOP

Reads BENCH_DIR/<arch>.tsv ("way FAILED MIB open_ms dump_bytes trials RUN" and "scale
MODE N blob_bytes load_us keys_us restore_us unlock_us unlock_kib RUN" per line, -
where none; a later line of a way or of a scale count replaces an earlier one) and writes
BENCH_DIR/bench.json and BENCH_DIR/bench.md: the smallest crashkernel= per arch and way,
exact or as the range the search left, the ratio passphrase / crashkey, the difference
crashkey - plain; the time to open the volume in the capture kernel, both ways from the
same run; the blob's bytes against mainline's, the load, restore and unlock times per
number of keys; with the machine, the versions, the runs and the commit.
"""
import glob
import json
import os
import platform
import subprocess
import sys
import urllib.parse

WAYS = ("crashkey", "passphrase", "plain")
SCALE_FIELDS = ("blob_bytes", "load_us", "keys_us", "restore_us", "unlock_us", "unlock_kib")


MAINLINE_MAX_KEYS = 128


def mainline_blob_bytes(keys):
    """Linux 6.16's kdump key blob (kernel/crash_dump_dm_crypt.c): a 4-byte count, then
    388 bytes per key (struct dm_crypt_key: its size, 128 bytes of description, 256 of
    key); KEY_NUM_MAX keys at most."""
    return 4 + 388 * keys if keys <= MAINLINE_MAX_KEYS else None


def run(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def machine():
    model = None
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kib = int(f.readline().split()[1])
    return {"cpus": os.cpu_count(), "cpu": model, "memory_mib": mem_kib // 1024,
            "host_kernel": platform.release()}


def deb_version(cache, deb_arch, package):
    debs = glob.glob(os.path.join(cache, "debs", deb_arch, package + "_*.deb"))
    # apt's file names escape the epoch's colon: makedumpfile_1%3a1.7.2-1_amd64.deb
    return debs and urllib.parse.unquote(os.path.basename(debs[0]).split("_")[1]) or None


def versions(cache, arches):
    qemu = {}
    for arch in arches:
        name = {"arm64": "aarch64", "ppc64le": "ppc64"}.get(arch, arch)
        out = run("qemu-system-" + name, "--version")
        qemu[arch] = out.splitlines()[0] if out else None
    kernel = run("make", "-s", "-C", os.path.join(cache, "tree"), "kernelversion")
    return {"kernel": kernel, "qemu": qemu,
            "cryptsetup": deb_version(cache, "amd64", "cryptsetup-bin"),
            "makedumpfile": deb_version(cache, "amd64", "makedumpfile")}


def commit(top):
    rev = run("git", "-C", top, "rev-parse", "--short", "HEAD")
    dirty = run("git", "-C", top, "status", "--porcelain", "--untracked-files=no")
    return rev and rev + ("-dirty" if dirty else "")


def number(field):
    return None if field == "-" else int(field)


def scale_row(mode, count, values, run):
    row = {"mode": mode, "keys": count, **dict(zip(SCALE_FIELDS, values)), "run": run}
    if row["blob_bytes"] is not None:
        row["bytes_per_key"] = round(row["blob_bytes"] / count)
        row["mainline_blob_bytes"] = mainline_blob_bytes(count)
    if row["unlock_us"] is not None:
        row["unlock_per_volume_us"] = round(row["unlock_us"] / count)
    if row["unlock_kib"] is not None:
        row["unlock_per_volume_kib"] = round(row["unlock_kib"] / count)
    return row


def read_arch(path):
    """Every way's lines in the order they came (a later one refines an earlier one),
    and the scale rows, the last per mode and count."""
    lines, scale = [], {}
    with open(path) as f:
        for number_of_line, line in enumerate(f, 1):
            fields = line.split()
            if len(fields) == 7 and fields[0] in WAYS:
                failed, mib, open_ms, dump_bytes, trials = map(int, fields[1:6])
                lines.append({"way": fields[0], "failed_mib": failed, "crashkernel_mib": mib,
                              "open_ms": open_ms, "dump_bytes": dump_bytes,
                              "boots": trials, "run": fields[6]})
            elif len(fields) == 4 + len(SCALE_FIELDS) and fields[0] == "scale":
                scale[fields[1], int(fields[2])] = scale_row(
                    fields[1], int(fields[2]), [number(x) for x in fields[3:-1]], fields[-1])
            elif fields:
                print(f"bench-report: {path}:{number_of_line}: not a result of this bench's "
                      "format, left out", file=sys.stderr)
    return lines, list(scale.values())


def span(way):
    """The MiB range the smallest reservation lies in: (failed, found]."""
    return way["failed_mib"] + 1, way["crashkernel_mib"]


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


def open_times(lines):
    """Crashkey's and the passphrase's time to open the volume, from the last run that
    measured both: the same volume, the same machine load."""
    for run in reversed([x["run"] for x in lines]):
        both = {x["way"]: x for x in lines if x["run"] == run}
        if "crashkey" in both and "passphrase" in both and both["crashkey"]["open_ms"]:
            a, b = both["crashkey"]["open_ms"], both["passphrase"]["open_ms"]
            return {"run": run, "crashkey_ms": a, "passphrase_ms": b,
                    "ratio": round(b / a, 1)}
    return None


def cell(value, unit=""):
    return "-" if value is None else f"{value}{unit}"


def table_head(*columns):
    return ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]


def ms(us):
    return "-" if us is None else f"{us / 1000:.1f} ms"


def mainline(keys):
    b = mainline_blob_bytes(keys)
    return f"{b} B" if b is not None else f"cannot (at most {MAINLINE_MAX_KEYS} keys)"


def scale_markdown(report):
    lines = table_head("arch", "keys", "blob", "per key", "mainline's blob", "load",
                       "of which keys", "restore", "crashkey unlock", "per volume",
                       "memory per volume")
    for arch, r in report["arches"].items():
        for row in r["scale"]:
            what = f"{row['keys']}" + (" volumes" if row["mode"] == "volumes" else "")
            lines.append(
                f"| {arch} | {what} | {cell(row['blob_bytes'], ' B')} | "
                f"{cell(row.get('bytes_per_key'), ' B')} | "
                f"{mainline(row['keys'])} | {ms(row['load_us'])} | "
                f"{ms(row['keys_us'])} | {ms(row['restore_us'])} | {ms(row['unlock_us'])} | "
                f"{ms(row.get('unlock_per_volume_us'))} | "
                f"{cell(row.get('unlock_per_volume_kib'), ' KiB')} |")
    lines += [
        "",
        "Keys handed over: synthetic ones registered through configfs, or LUKS2 volumes "
        "registered with `crashkey add`. Load: all of `kexec -s -p` in the first kernel, "
        "and the kernel's work on the keys within it (reading them, building, hashing "
        "and placing the blob); restore: the capture kernel's, alone or as the first "
        "step of `crashkey unlock`; memory per volume: how much less the capture kernel "
        "had available after the unlock, per volume. Mainline's blob: 4 + 388 bytes per key, "
        f"at most {MAINLINE_MAX_KEYS} keys.",
    ]
    return lines


def mib_cell(way):
    if not way:
        return "-"
    low, high = span(way)
    return f"{high} MiB" if low == high else f"{low} to {high} MiB"


def range_cell(value, unit=""):
    if isinstance(value, list):
        return f"{value[0]} to {value[1]}{unit}"
    return cell(value, unit)


def seconds(ms_value):
    return f"{ms_value} ms" if ms_value < 10000 else f"{ms_value / 1000:.1f} s"


def ways_markdown(report):
    lines = table_head("arch", "crashkey", "passphrase (Argon2id, 1 GiB)", "unencrypted",
                       "passphrase / crashkey", "crashkey - unencrypted", "open: crashkey",
                       "open: passphrase", "ratio")
    for arch, r in report["arches"].items():
        w, s, t = r["ways"], r["summary"], r["open"]
        if not w:
            continue
        mib = [mib_cell(w.get(x)) for x in WAYS]
        opened = [seconds(t["crashkey_ms"]), seconds(t["passphrase_ms"]), t["ratio"]] \
            if t else ["-"] * 3
        lines.append(f"| {arch} | {mib[0]} | {mib[1]} | {mib[2]} | "
                     f"{range_cell(s.get('passphrase_over_crashkey'))} | "
                     f"{range_cell(s.get('crashkey_minus_plain_mib'), ' MiB')} | "
                     f"{opened[0]} | {opened[1]} | {opened[2]} |")
    lines += [
        "",
        "Smallest `crashkernel=` with which the capture kernel saved a complete dump "
        "(`makedumpfile -d 31`): one number where the bisection reached 1 MiB, else the "
        "range it left. The time to open the dump volume in the capture kernel, both ways "
        "from the same run (the last that measured both).",
    ]
    return lines


def runs_line(report):
    runs = {}
    for arch, r in report["arches"].items():
        for run in [way["run"] for way in r["ways"].values()] + [(r["open"] or {}).get("run")] \
                + [row["run"] for row in r["scale"]]:
            if run:
                runs.setdefault(run, set()).add(arch)
    return "; ".join(f"{run} ({', '.join(sorted(arches))})" for run, arches in runs.items())


def markdown(report):
    """The tables of the parts that ran, then where they ran."""
    arches = report["arches"].values()
    lines = []
    if any(r["ways"] for r in arches):
        lines += ways_markdown(report) + [""]
    if any(r["scale"] for r in arches):
        lines += scale_markdown(report) + [""]
    m, v = report["machine"], report["versions"]
    lines += [f"Runs: {runs_line(report)}.", ""]
    lines.append(
        f"Report at commit {report['commit']}; Linux {v['kernel']}, cryptsetup {v['cryptsetup']}, "
        f"makedumpfile {v['makedumpfile']}; QEMU TCG on {m['cpus']} CPUs ({m['cpu']}), "
        f"{m['memory_mib']} MiB.")
    return "\n".join(lines) + "\n"


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    bench_dir, top = sys.argv[1], sys.argv[2]
    # BENCH_OUT may put the results outside the cache, whose packages and tree name
    # the versions.
    cache = os.environ.get("CRASHKEY_CACHE") or os.path.dirname(os.path.abspath(bench_dir))
    arches = {}
    for path in sorted(glob.glob(os.path.join(bench_dir, "*.tsv"))):
        lines, scale = read_arch(path)
        ways = {x["way"]: x for x in lines}
        arches[os.path.basename(path)[:-4]] = {"ways": ways, "summary": summarize(ways),
                                               "open": open_times(lines), "scale": scale}
    if not arches:
        sys.exit(f"bench-report: no results in {bench_dir}")
    report = {"commit": commit(top), "machine": machine(),
              "versions": versions(cache, arches), "arches": arches}
    with open(os.path.join(bench_dir, "bench.json"), "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    with open(os.path.join(bench_dir, "bench.md"), "w") as f:
        f.write(markdown(report))
    sys.stdout.write(markdown(report))


if __name__ == "__main__":
    main()
