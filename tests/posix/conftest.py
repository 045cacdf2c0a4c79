# SPDX-License-Identifier: GPL-2.0-or-later
"""tests/posix: differential POSIX-completeness tests (errovl vs kernel
overlayfs).  Puts tests/fs (diffharness) and this directory (posixlib)
on sys.path."""
import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))
for _p in (_here, os.path.join(os.path.dirname(_here), "fs")):
    if _p not in sys.path:
        sys.path.insert(0, _p)
