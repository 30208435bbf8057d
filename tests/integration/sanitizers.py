"""The integration tests under a sanitizer build (scripts/test.sh's asan and tsan stages): where the sanitizers
write their reports, the reports written since the last look, and the factor that stretches the tests' timeouts
for a binary that runs several times slower."""
import glob
import os
import re

# TEST_TIMEOUT_FACTOR (default 1) multiplies the timeouts that bound a wait for the daemon (never a measurement a
# test asserts on): a sanitized daemon starts, stops and answers slower.
TIMEOUT_FACTOR = float(os.environ.get('TEST_TIMEOUT_FACTOR', '1'))
_OPTION_VARS = ('ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS', 'TSAN_OPTIONS')


def scaled(seconds: float) -> float:
    """A timeout stretched by TEST_TIMEOUT_FACTOR."""
    return seconds * TIMEOUT_FACTOR


def _option_values(name: str, variables=_OPTION_VARS) -> list[str]:
    """The values given to sanitizer option `name` in these variables (sanitizers split their options at spaces,
    ':' and ',')."""
    return [opt[len(name) + 1:] for var in variables
            for opt in re.split(r'[\s:,]+', os.environ.get(var, '')) if opt.startswith(name + '=')]


def _log_prefixes() -> set[str]:
    """The log_path of every sanitizer options variable set; each process writes its reports to LOG_PATH.PID."""
    return set(_option_values('log_path'))


def _runtimes(pid: int) -> set[str]:
    """The sanitizer runtimes mapped into process `pid` ('asan', 'tsan')."""
    with open(f'/proc/{pid}/maps') as f:
        maps = f.read()
    return {name for name in ('asan', 'tsan') if f'lib{name}' in maps}


def sanitizer_allocator(pid: int) -> bool:
    """Whether process `pid` allocates through a sanitizer's runtime (ASan's or TSan's) rather than glibc's malloc."""
    return bool(_runtimes(pid))


def asan_quarantine_bytes(pid: int) -> int:
    """What AddressSanitizer holds back of the memory process `pid` frees (to catch a use after free), which its
    RSS counts: ASAN_OPTIONS' quarantine_size_mb, or ASan's default 256 MiB; 0 if the process has no ASan."""
    return asan_quarantine_size() if 'asan' in _runtimes(pid) else 0


def asan_quarantine_size() -> int:
    """The bytes AddressSanitizer holds back of freed memory in a process started now: ASAN_OPTIONS'
    quarantine_size_mb, or ASan's default 256 MiB."""
    given = _option_values('quarantine_size_mb', ('ASAN_OPTIONS',))
    return int(given[-1] if given else 256) << 20


_seen: set[str] = set()


def new_reports() -> str:
    """The text of every report file that appeared since the last call ('' if none)."""
    out = []
    for prefix in _log_prefixes():
        for path in sorted(glob.glob(glob.escape(prefix) + '.*')):
            if path in _seen:
                continue
            _seen.add(path)
            with open(path, errors='replace') as f:
                out.append(f'--- {path}\n{f.read()}')
    return '\n'.join(out)
