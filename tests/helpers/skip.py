"""skip: how an integration test says it could not run. It exits with
SKIP_CODE (77, the automake convention), which tests/CMakeLists.txt sets as
SKIP_RETURN_CODE on every integration test, so ctest reports "Skipped"
instead of counting a test that checked nothing as passed. Shell tests
exit 77 themselves."""
import sys

SKIP_CODE = 77


def skip(reason):
    """Prints "SKIP: REASON" and exits with SKIP_CODE."""
    print("SKIP: %s" % reason, flush=True)
    sys.exit(SKIP_CODE)
