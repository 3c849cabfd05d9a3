#!/usr/bin/env python3
"""check_layout: the include rules of logcap's layers (the design's "Layout and layers").

Every `#include "..."` of a file under src/ must point down the layers:

  base        nothing else from src/
  core        base
  config      core, base
  spool       core, base
  supervisor  core, base
  pipeline    the spool's public header, supervisor, config, core, base
  delivery    the spool's public headers, the output interface, supervisor, config, core, base
  outputs/    (output.c, output.h: the interface; http.c, http_config.c, http.h: the HTTP
              layer HTTP outputs share) config, core, base
  inputs/     (input.h: the interface; tail.c, tail.h: the file follower inputs share)
              pipeline/ingest.h, config, supervisor, core, base
  a plugin    (inputs/<type>/, outputs/<type>/) its own folder, its family's interface
              (an input also inputs/tail.h, an output also outputs/http.h),
              pipeline/ingest.h (inputs), config, supervisor, core, base; never spool
              internals, delivery, api or another plugin
  api         the snapshot types (core/snapshot.h), base
  daemon, cmd, main.c   anything

and everywhere: a `*_int.h` header is included only from its own folder, and a registry
(`inputs/registry.h`, `outputs/registry.h`) only by daemon, cmd and main (and the
registry itself).

Names follow the folder: in a plugin's headers (inputs/<type>/, outputs/<type>/) every
function declared and every struct or enum defined is named lc_<type>_... or lc_<type>
(its ops descriptor is lc_input_<type> or lc_output_<type>).

  tests/check_layout.py [SRC]        check SRC (default: the repository's src/); prints
                                     each broken rule, exits 1 when there is one
  tests/check_layout.py --self-test  shows that a forbidden include is caught

tests/run runs both.
"""

import os
import re
import sys
import tempfile

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)

SIMPLE = {
    "base": ["base/"],
    "core": ["core/", "base/"],
    "config": ["config/", "core/", "base/"],
    "spool": ["spool/", "core/", "base/"],
    "supervisor": ["supervisor/", "core/", "base/"],
    "pipeline": ["pipeline/", "spool/spool.h", "supervisor/", "config/", "core/", "base/"],
    "delivery": ["delivery/", "spool/spool.h", "spool/spool_reader.h", "outputs/output.h",
                 "supervisor/", "config/", "core/", "base/"],
    "outputs": ["outputs/output.h", "outputs/http.h", "config/", "core/", "base/"],
    "api": ["api/", "core/snapshot.h", "base/"],
}
ANYTHING = {"daemon", "cmd", "main"}
REGISTRIES = {"inputs/registry.h", "outputs/registry.h"}

# Known exceptions, each with the reason and what removes it. Keep this list empty.
EXCEPTIONS = {}


def layer_of(rel):
    """(layer, folder) of the file at REL (relative to src/)."""
    parts = rel.split("/")
    if len(parts) == 1:
        return ("main", "")
    top = parts[0]
    folder = "/".join(parts[:-1]) + "/"
    if top in ("inputs", "outputs"):
        if len(parts) >= 3:
            return ("plugin", folder)
        if parts[1].startswith("registry."):
            return ("registry", folder)
        return ("outputs" if top == "outputs" else "inputs", folder)
    return (top, folder)


def allowed(rel, inc):
    layer, folder = layer_of(rel)
    if inc.endswith("_int.h") and not inc.startswith(folder):
        return False
    if inc in REGISTRIES and layer not in ANYTHING and not (
            layer == "registry" and inc.startswith(folder)):
        return False
    if layer in ANYTHING or layer == "registry":
        return True
    if layer == "plugin":
        family = folder.split("/")[0]
        ok = [folder, "config/", "supervisor/", "core/", "base/"]
        ok.extend(["inputs/input.h", "inputs/tail.h"] if family == "inputs" else
                  ["outputs/output.h", "outputs/http.h"])
        if family == "inputs":
            ok.append("pipeline/ingest.h")
        return any(inc.startswith(p) for p in ok)
    if layer == "inputs":
        return any(inc.startswith(p) for p in ["inputs/input.h", "inputs/tail.h",
                                                "pipeline/ingest.h", "config/", "supervisor/",
                                                "core/", "base/"])
    rules = SIMPLE.get(layer)
    return rules is not None and any(inc.startswith(p) for p in rules)


def exception(rel, inc):
    for (folder, target), why in EXCEPTIONS.items():
        if rel.startswith(folder) and inc == target:
            return why
    return None


# A function declared, or a struct or enum defined, at the start of a line of a header.
DECLARED = re.compile(r'^(?:[A-Za-z_][\w ]*?[\s*]+)?(lc_\w+)\s*\(|^(?:struct|enum)\s+(lc_\w+)\s*\{',
                      re.M)


def misnamed(rel, text):
    """The names a plugin header at REL declares that do not follow its folder."""
    parts = rel.split("/")
    if len(parts) != 3 or parts[0] not in ("inputs", "outputs") or not rel.endswith(".h"):
        return []
    prefix = "lc_%s_" % parts[1]
    bad = []
    for m in DECLARED.finditer(text):
        name = m.group(1) or m.group(2)
        if not name.startswith(prefix) and name != prefix[:-1]:
            bad.append("%s:%d: declares %s, not named %s..." % (
                rel, text.count("\n", 0, m.start()) + 1, name, prefix))
    return bad


def check(src):
    """Returns the broken rules under SRC, as lines."""
    problems = []
    for root, _, files in os.walk(src):
        for name in sorted(files):
            if not name.endswith((".c", ".h")):
                continue
            path = os.path.join(root, name)
            rel = os.path.relpath(path, src).replace(os.sep, "/")
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
            problems += misnamed(rel, text)
            for m in INCLUDE.finditer(text):
                inc = m.group(1)
                if not os.path.exists(os.path.join(src, inc)):
                    continue  # a header of the same folder by its bare name, or a system one
                if allowed(rel, inc) or exception(rel, inc):
                    continue
                line = text.count("\n", 0, m.start()) + 1
                problems.append("%s:%d: includes %s, which its layer (%s) may not" % (
                    rel, line, inc, layer_of(rel)[0]))
    return sorted(problems)


def self_test():
    """A tree with one allowed and one forbidden include of each kind: only the forbidden
    ones are reported."""
    cases = {
        "base/a.h": "", "core/b.h": "", "spool/spool.h": "", "spool/spool_int.h": "",
        "outputs/output.h": "", "outputs/registry.h": "", "inputs/docker/x.h": "",
        "outputs/loki/l.h": "",
        "core/ok.c": '#include "base/a.h"\n',
        "base/bad.c": '#include "core/b.h"\n',
        "outputs/loki/bad.c": '#include "inputs/docker/x.h"\n#include "outputs/output.h"\n',
        "delivery/bad.c": '#include "spool/spool_int.h"\n#include "spool/spool.h"\n',
        "api/bad.c": '#include "outputs/registry.h"\n',
        "daemon/ok.c": '#include "outputs/registry.h"\n#include "spool/spool.h"\n',
        "inputs/files/ok.h": "int lc_files_open(void);\nstruct lc_files_tail {\n};\n",
        "inputs/files/bad.h": "\nvoid lc_tail_open(int fd);\n",
    }
    want = {"base/bad.c:1", "outputs/loki/bad.c:1", "delivery/bad.c:1", "api/bad.c:1",
            "inputs/files/bad.h:2"}
    with tempfile.TemporaryDirectory() as d:
        for rel, text in cases.items():
            path = os.path.join(d, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
        got = {p.split(": ")[0] for p in check(d)}
    if got != want:
        print("check_layout self-test: reported %s, expected %s" % (sorted(got), sorted(want)))
        return 1
    print("check_layout self-test: the %d forbidden includes and names were caught" % len(want))
    return 0


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
    problems = check(src)
    for p in problems:
        print(p)
    for (folder, target), why in EXCEPTIONS.items():
        print("check_layout: allowed for now: %s* includes %s: %s" % (folder, target, why))
    print("check_layout: %d broken include or naming rules" % len(problems))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
