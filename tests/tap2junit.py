#!/usr/bin/env python3
"""Convert TAP to JUnit XML for the CI engines' test views.

    tests/tap2junit.py SUITE_NAME [EXIT_STATUS] < file.tap > file.xml

The same verdict as tests/tap-verdict.sh, which makes the summary's counts: its failed
count is this XML's failures, its passed count the other testcases. One testcase per
"ok N" / "not ok N" line at the start of a line (indented KTAP subtests, lines without
a number and other output are ignored). The name is the text after the number and
" - "; a leading "<arch>: ", for an arch of ci-matrix/arch/*.conf, becomes the
classname SUITE_NAME.<arch> (else the classname is SUITE_NAME).

  not ok              -> <failure>, its text the "# " lines that follow it
  ok ... # SKIP       -> <failure> too: the project counts a skipped test as failed
                         (a matrix kernel or guest that cannot run a test is broken)
  no plan, or plans that do not add up to the test lines (a suite may print one
  TAP stream after another)
                      -> an extra failing testcase "TAP plan"
  Bail out!           -> an extra failing testcase "Bail out!"
  EXIT_STATUS not 0, and nothing else failed
                      -> an extra failing testcase "exit status"

Exits 0 once the XML is written, whatever the tests' results; 2 on a usage error.
Python 3 standard library only.
"""

import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

TEST_RE = re.compile(r"^(not ok|ok)[ \t]+([0-9]+)\b[ \t]*(?:-[ \t]+|-$)?(.*)$")
SKIP_RE = re.compile(r"[ \t]#[ \t]*skip\S*[ \t]*(.*)$", re.IGNORECASE)
PLAN_RE = re.compile(r"^1\.\.([0-9]+)(?:[ \t]*#.*)?[ \t]*$")
BAIL_RE = re.compile(r"^Bail out!(.*)$")
DIAG_RE = re.compile(r"^#(?: (.*))?$")
# Characters XML 1.0 cannot carry (escape codes from coloured output, NUL, ...).
BAD_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(s):
    """s with the characters XML cannot carry shown as \\xNN."""
    return BAD_XML_CHAR.sub(lambda m: "\\x%02x" % ord(m.group()), s)


def known_arches():
    conf_dir = Path(__file__).resolve().parent.parent / "ci-matrix" / "arch"
    return {p.stem for p in conf_dir.glob("*.conf")}


class Case:
    def __init__(self, classname, name, status, message="", text=None):
        self.classname = classname
        self.name = name
        self.status = status  # "passed" or "failed"
        self.message = message
        self.diag = [] if text is None else [text]


def parse(lines, suite, arches, exit_status=0):
    cases = []
    plans = []
    tests = 0
    last = None  # the latest "not ok" case, while its diagnostics may follow
    for line in lines:
        m = TEST_RE.match(line)
        if m:
            tests += 1
            ok = m.group(1) == "ok"
            desc = m.group(3).strip()
            name, skip_reason = desc, None
            d = SKIP_RE.search(" " + desc)
            if d:
                name = desc[: max(d.start() - 1, 0)].rstrip()
                skip_reason = d.group(1).strip() or "no reason given"
            classname = suite
            prefix, sep, rest = name.partition(": ")
            if sep and prefix in arches:
                classname, name = "%s.%s" % (suite, prefix), rest
            if not name:
                name = "test %s" % m.group(2)
            if ok and skip_reason is not None:
                case = Case(classname, name, "failed",
                            "skipped, which counts as failed: " + skip_reason)
                last = None
            elif ok:
                case = Case(classname, name, "passed")
                last = None
            else:
                case = Case(classname, name, "failed", line.strip())
                last = case
            cases.append(case)
            continue
        m = PLAN_RE.match(line)
        if m:
            plans.append(int(m.group(1)))
            last = None
            continue
        m = BAIL_RE.match(line)
        if m:
            reason = m.group(1).strip() or "no reason given"
            cases.append(Case(suite, "Bail out!", "failed", "Bail out! " + reason))
            last = None
            continue
        m = DIAG_RE.match(line)
        if m and last is not None:
            last.diag.append(m.group(1) or "")
    problem = None
    seen = "%d test line%s" % (tests, "" if tests == 1 else "s")
    if not plans:
        problem = "no TAP plan (1..N), %s" % seen
    elif sum(plans) != tests:
        problem = "TAP plans %s announce %d tests, %s" % (
            ", ".join("1..%d" % n for n in plans), sum(plans), seen)
    if problem:
        cases.append(Case(suite, "TAP plan", "failed", problem, problem))
    if exit_status != 0 and not any(c.status == "failed" for c in cases):
        why = "exited with status %d" % exit_status
        cases.append(Case(suite, "exit status", "failed", why, why))
    return cases


def to_xml(suite, cases):
    failures = sum(c.status == "failed" for c in cases)
    counts = {"tests": str(len(cases)), "failures": str(failures),
              "errors": "0", "skipped": "0"}
    root = ET.Element("testsuites", dict(name=xml_text(suite), **counts))
    ts = ET.SubElement(root, "testsuite", dict(name=xml_text(suite), **counts))
    for c in cases:
        tc = ET.SubElement(ts, "testcase",
                           classname=xml_text(c.classname), name=xml_text(c.name))
        if c.status == "failed":
            f = ET.SubElement(tc, "failure", message=xml_text(c.message), type="failure")
            f.text = xml_text("\n".join(c.diag) if c.diag else c.message)
    ET.indent(root, space="  ")
    return root


def main(argv):
    if len(argv) not in (2, 3) or not argv[1] or argv[1].startswith("-") or (
            len(argv) == 3 and not argv[2].isdigit()):
        sys.stderr.write("usage: tap2junit.py SUITE_NAME [EXIT_STATUS] < file.tap > file.xml\n")
        return 2
    suite = argv[1]
    exit_status = int(argv[2]) if len(argv) == 3 else 0
    data = sys.stdin.buffer.read().decode("utf-8", "replace")
    lines = [line[:-1] if line.endswith("\r") else line for line in data.split("\n")]
    root = to_xml(suite, parse(lines, suite, known_arches(), exit_status))
    ET.ElementTree(root).write(sys.stdout.buffer, encoding="UTF-8", xml_declaration=True)
    sys.stdout.buffer.write(b"\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
