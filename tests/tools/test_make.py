# SPDX-License-Identifier: GPL-2.0-or-later
"""make and cc in the mount, over a project already built in the lower
layer (objects newer than their sources).  make must find nothing to do,
rebuild exactly what a touched source or header needs (the new objects
replace lower ones), clean (whiteouts for lower objects) and rebuild;
the program must run.  make decides everything from mtimes, so this
checks that times seen through the mount order files as the kernel's
do.  Output and merged tree must match the kernel overlayfs run."""
import os

import pytest

import testlib
from testlib import layers as L

import toolhelp as T

MAKEFILE = """\
CFLAGS = -O1 -Iinclude
OBJS = build/main.o build/util.o build/extra.o
prog: $(OBJS)
\t$(CC) -o $@ $(OBJS)
build/%.o: src/%.c include/util.h
\t@mkdir -p build
\t$(CC) $(CFLAGS) -c -o $@ $<
clean:
\trm -f prog $(OBJS)
.PHONY: clean
"""

SOURCES = {
    "Makefile": MAKEFILE,
    "include/util.h": "int util(int);\nint extra(int);\n",
    "src/main.c": "#include <stdio.h>\n#include \"util.h\"\n"
                  "int main(void)\n{\n\tprintf(\"%d\\n\", util(20) + "
                  "extra(1));\n\treturn 0;\n}\n",
    "src/util.c": "#include \"util.h\"\nint util(int x)\n{\n\treturn 2 * x;"
                  "\n}\n",
    "src/extra.c": "#include \"util.h\"\nint extra(int x)\n{\n\treturn x;"
                   "\n}\n",
}

SCRIPT = """
set -e
make -j1 2>&1
./prog
make -j1 2>&1
touch src/util.c
make -j1 2>&1
printf '#include "util.h"\\nint util(int x)\\n{\\n\\treturn 3 * x;\\n}\\n' \\
    > src/util.c
make -j1 2>&1
./prog
touch include/util.h
make -j1 2>&1
make -j1 clean 2>&1
test ! -e build/main.o
make -j1 2>&1
./prog
"""


def _lower(tmp_path, env):
    root = str(tmp_path / "lower")
    L.build(root, SOURCES)
    st, out, err = T.run(["make", "-j1"], root, env)
    assert st == 0, out + err
    # sources an hour old, objects and program half an hour old
    for d, dirs, files in os.walk(root):
        for n in files:
            p = os.path.join(d, n)
            t = 1_600_000_000 if "/build/" not in p and n != "prog" \
                else 1_600_001_800
            os.utime(p, (t, t))
    return root


@pytest.mark.parametrize("mode", T.MODES)
def test_make_over_lower_build(tmp_path, mode):
    testlib.require_tools("make", "cc")
    testlib.require_daemon()
    env = T.tool_env(tmp_path)
    lower = _lower(tmp_path, env)
    res = T.both(tmp_path, mode, [lower],
                 lambda mnt, side: T.run(SCRIPT, mnt, env))
    st, out, err = res["k"][0]
    assert st == 0, f"kernel run: {out} {err}"
    # up to date; touch: 1 + link; edit: 1 + link; header: 3 + link;
    # after clean: 3 + link
    assert out.startswith("make: 'prog' is up to date.\n41\n"), out
    assert out.count("cc ") == 0 + 2 + 2 + 4 + 4, out
    T.assert_same(res, "make output")


def _many_sources(n):
    spec = {"Makefile": MAKEFILE.replace(
        "OBJS = build/main.o build/util.o build/extra.o",
        "OBJS = build/main.o " + " ".join(f"build/u{i}.o" for i in range(n))),
        "include/util.h": "".join(f"int u{i}(int);\n" for i in range(n)) +
        "int util(int);\nint extra(int);\n",
        "src/main.c": "#include <stdio.h>\n#include \"util.h\"\n"
                      "int main(void)\n{\n\tint s = 0;\n" +
                      "".join(f"\ts += u{i}({i});\n" for i in range(n)) +
                      "\tprintf(\"%d\\n\", s);\n\treturn 0;\n}\n"}
    for i in range(n):
        spec[f"src/u{i}.c"] = (f"#include \"util.h\"\nint u{i}(int x)\n"
                               f"{{\n\treturn x * {i % 7 + 1};\n}}\n")
    return spec


@pytest.mark.parametrize("mode", T.MODES)
def test_parallel_make(tmp_path, mode):
    """make -j4 of 40 objects in a fresh tree in the mount, twice (the
    second run after touching the header); output sorted."""
    testlib.require_tools("make", "cc")
    testlib.require_daemon()
    env = T.tool_env(tmp_path)
    lower = str(tmp_path / "lower")
    L.build(lower, _many_sources(40))
    for d, dirs, files in os.walk(lower):
        for n in files:
            os.utime(os.path.join(d, n), (1_600_000_000, 1_600_000_000))
    script = ("make -j4 2>&1 | sort; ./prog; touch include/util.h; "
              "make -j4 2>&1 | sort | uniq -c; ./prog; make -j4")
    res = T.both(tmp_path, mode, [lower],
                 lambda mnt, side: T.run(script, mnt, env))
    st, out, err = res["k"][0]
    assert st == 0 and "Nothing to be done" not in out, out + err
    assert "make: 'prog' is up to date." in out, out
    T.assert_same(res, "make output")
