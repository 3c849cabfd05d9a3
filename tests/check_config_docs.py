#!/usr/bin/env python3
"""check_config_docs: docs/configuration.md documents every key the code's tables declare.

`logcap config-reference` prints the keys from the tables themselves (the core's and every
input and output type's), one block per section:

  [top level]          data_dir, log_level, ...       documented anywhere as `KEY`
  [api], [supervisor], [spool], [inputs], [outputs]
                       documented as `SECTION.KEY` anywhere, or as `KEY` under a heading
                       that names `SECTION`
  [inputs: T], [outputs: T]
                       documented as `KEY` under a heading that names `T` or `type: T`

A heading's part of the page runs to the next heading of the same or a higher level. Each
key that the page misses is printed; the exit status is 1 when there is one.

  tests/check_config_docs.py [--bin LOGCAP] [--docs FILE]
                                     check FILE (default docs/configuration.md) against
                                     LOGCAP config-reference (default build/logcap)
  tests/check_config_docs.py --self-test
                                     shows that a missing key and a missing section are
                                     caught (needs no binary)

tests/run runs both.
"""

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECTION = re.compile(r"^\[(?P<name>[^\]]+)\]")
KEY = re.compile(r"^  (?P<key>\S+) ")
HEADING = re.compile(r"^(?P<level>#+)\s+(?P<text>.*)$")


def parse_reference(text):
    """[(section, key)] in the order config-reference prints them."""
    keys, section = [], None
    for line in text.splitlines():
        m = SECTION.match(line)
        if m:
            section = m.group("name")
            continue
        m = KEY.match(line)
        if m and section is not None:
            keys.append((section, m.group("key")))
    return keys


def doc_blocks(doc):
    """[(heading text, text under it)] for every heading of DOC (code blocks skipped)."""
    lines, heads, fenced = doc.splitlines(), [], False
    for i, line in enumerate(lines):
        if line.startswith("```"):
            fenced = not fenced
        m = None if fenced else HEADING.match(line)
        if m:
            heads.append((i, len(m.group("level")), m.group("text")))
    blocks = []
    for k, (i, level, text) in enumerate(heads):
        end = len(lines)
        for j, lvl, _ in heads[k + 1:]:
            if lvl <= level:
                end = j
                break
        blocks.append((text, "\n".join(lines[i:end])))
    return blocks


def missing_keys(reference, doc):
    """The problems: one line per key (or section) DOC misses."""
    blocks = doc_blocks(doc)
    problems = []

    def under(names):
        return [body for head, body in blocks if any("`%s`" % n in head for n in names)]

    for section, key in parse_reference(reference):
        tick = "`%s`" % key
        if section == "top level":
            ok = tick in doc
        elif ":" in section:
            typ = section.split(":", 1)[1].strip()
            bodies = under([typ, "type: %s" % typ])
            if not bodies:
                problems.append("[%s] no heading names `%s` or `type: %s`" % (section, typ, typ))
                continue
            ok = any(tick in b for b in bodies)
        else:
            ok = "`%s.%s`" % (section, key) in doc or any(tick in b for b in under([section]))
        if not ok:
            problems.append("[%s] key %s is not documented" % (section, key))
    return sorted(set(problems), key=problems.index)


def self_test():
    reference = ("[top level]\n  data_dir   string\n"
                 "[spool]\n  sync   x\n"
                 "[outputs: file]\n  path   string\n  compress  boolean\n")
    doc = ("# ref\n\n### `data_dir`\nText.\n\n## `spool`\n| `sync` | x |\n\n"
           "## `outputs`\n\n### `type: file`\n| `path` | |\n| `compress` | |\n")
    ok = True
    if missing_keys(reference, doc):
        print("self-test: a complete page was reported: %s" % missing_keys(reference, doc))
        ok = False
    cases = [
        ("a key missing from its type's section", doc.replace("| `compress` | |\n", ""),
         "[outputs: file] key compress is not documented"),
        ("a key documented only in another section",
         doc.replace("| `sync` | x |", "").replace("Text.", "Text `sync`."),
         "[spool] key sync is not documented"),
        ("a type without a section", doc.replace("### `type: file`", "### Files"),
         "[outputs: file] no heading names `file` or `type: file`"),
        ("a top-level key missing", doc.replace("### `data_dir`", "### data dir"),
         "[top level] key data_dir is not documented"),
    ]
    for what, broken, expected in cases:
        got = missing_keys(reference, broken)
        if got != [expected]:
            print("self-test: %s: expected [%r], got %r" % (what, expected, got))
            ok = False
    print("check_config_docs self-test: %s" % ("ok" if ok else "FAILED"))
    return 0 if ok else 1


def main(argv):
    if "--self-test" in argv:
        return self_test()
    binary = os.path.join(ROOT, "build", "logcap")
    docs = os.path.join(ROOT, "docs", "configuration.md")
    if "--bin" in argv:
        binary = argv[argv.index("--bin") + 1]
    if "--docs" in argv:
        docs = argv[argv.index("--docs") + 1]
    p = subprocess.run([binary, "config-reference"], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=30)
    if p.returncode != 0 or not parse_reference(p.stdout):
        print("check_config_docs: %s config-reference failed (exit %d): %s" % (
            binary, p.returncode, p.stderr.strip()))
        return 1
    with open(docs) as f:
        doc = f.read()
    problems = missing_keys(p.stdout, doc)
    for line in problems:
        print("%s: %s" % (os.path.relpath(docs, ROOT), line))
    print("check_config_docs: %d keys checked, %d missing" % (
        len(parse_reference(p.stdout)), len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
