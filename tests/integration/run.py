#!/usr/bin/env python3
"""Runs every integration test (tests/integration/test_*.py) sequentially against the real daemon and ends with
exactly one line `integration: N passed, N failed` (N = test cases). Exit code 0 only if none failed.
Standard library only. Usage: run.py --binary build/smtp-blackhole [-k SUBSTRING]...
Under a sanitizer whose options name a log_path (scripts/test.sh's asan and tsan stages), a report any process
wrote there during a test fails that test and is printed with it."""
import argparse
import faulthandler
import os
import sys
import threading
import time
import unittest

import sanitizers

HERE = os.path.dirname(os.path.abspath(__file__))
# seconds: a hung suite dumps its stacks, kills its daemons and reports the hang as a failure
SUITE_LIMIT = sanitizers.scaled(300)


def iter_tests(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from iter_tests(t)
        else:
            yield t


class Result(unittest.TextTestResult):
    """Counts every non-pass outcome (failure, error, skip, unexpected success) as a failure."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.bad = []
        self._t0 = 0.0

    def startTest(self, test):
        self._t0 = time.monotonic()
        super().startTest(test)

    def stopTest(self, test):
        reports = sanitizers.new_reports()
        if reports:
            try:
                raise AssertionError('sanitizer report(s):\n' + reports)
            except AssertionError:
                self.addFailure(test, sys.exc_info())
        super().stopTest(test)
        if self.showAll:
            self.stream.writeln(f'    ({time.monotonic() - self._t0:.2f}s)')
            self.stream.flush()

    def _bad(self, test, why):
        self.bad.append((test.id(), why))

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._bad(test, 'FAIL')

    def addError(self, test, err):
        super().addError(test, err)
        self._bad(test, 'ERROR')

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._bad(test, f'SKIPPED ({reason}): skipping is not allowed')

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._bad(test, 'UNEXPECTED SUCCESS')

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None and not any(t == test.id() for t, _ in self.bad):
            self._bad(test, 'FAIL (subtest)')


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--binary', required=True, help='path of the smtp-blackhole binary')
    ap.add_argument('-k', dest='patterns', action='append', default=[],
                    help='run only tests whose id contains this (repeated: any of them)')
    args = ap.parse_args()

    binary = os.path.abspath(args.binary)
    sys.path.insert(0, HERE)
    import daemon  # noqa: E402  (needs the path above)
    daemon.BINARY = binary

    loader = unittest.TestLoader()
    suite = loader.discover(HERE, pattern='test_*.py', top_level_dir=HERE)
    tests = list(iter_tests(suite))
    if args.patterns:
        tests = [t for t in tests if any(p in t.id() for p in args.patterns)]
    suite = unittest.TestSuite(tests)

    if not os.access(binary, os.X_OK):
        print(f'binary not found or not executable: {binary}')
        print(f'integration: 0 passed, {max(1, len(tests))} failed')
        return 1

    results = []

    class TrackedResult(Result):
        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            results.append(self)

    def hung():
        # Last resort: the suite is stuck. Show where, stop every daemon, and still print the summary.
        faulthandler.dump_traceback(file=sys.stdout, all_threads=True)
        daemon._kill_leftovers()
        r = results[0] if results else None
        run = r.testsRun if r else 0
        failed = len({t for t, _ in r.bad}) if r else 0
        print(f'suite exceeded {SUITE_LIMIT}s; the running test counts as failed')
        print(f'integration: {max(0, run - failed - 1)} passed, {failed + 1} failed', flush=True)
        os._exit(1)

    watchdog = threading.Timer(SUITE_LIMIT, hung)
    watchdog.daemon = True
    watchdog.start()
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=2, resultclass=TrackedResult)
    t0 = time.monotonic()
    result = runner.run(suite)
    watchdog.cancel()
    failed_ids = {t for t, _ in result.bad}
    total = result.testsRun
    failed = len(failed_ids)
    passed = total - failed
    late = sanitizers.new_reports()
    if late:  # written after the last test ended: no test to blame, still a failure
        print(f'sanitizer report(s) after the last test:\n{late}')
        result.bad.append(('(after the last test)', 'SANITIZER REPORT'))
        failed += 1
    print(f'--- {time.monotonic() - t0:.1f}s')
    for t, why in result.bad:
        print(f'{why}: {t}')
    sys.stdout.flush()
    print(f'integration: {passed} passed, {failed} failed')
    return 0 if failed == 0 and total > 0 else 1


if __name__ == '__main__':
    sys.exit(main())
