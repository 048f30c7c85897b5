"""Runs the schemathesis command line (`schemathesis ARGS...`) with this
interpreter, so the tests use the same Python whose packages they checked
(the `schemathesis` script on PATH may belong to another one).

Used by e2e-tests/tests/schema_fuzzing.rs.
"""

import sys

from schemathesis.cli import schemathesis

if __name__ == "__main__":
    sys.exit(schemathesis(prog_name="schemathesis"))
