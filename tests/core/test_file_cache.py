"""The default cache without Redis: files shared by the local processes, whose size is checked
at most once an interval instead of on every write."""

from __future__ import annotations

import pytest

from frontdesk.core import cache as cache_module
from frontdesk.core.cache import FileCache


@pytest.fixture
def file_cache(tmp_path):
    return FileCache(str(tmp_path / "cache"), {"OPTIONS": {"MAX_ENTRIES": 10, "CULL_FREQUENCY": 2}})


def entries(file_cache) -> int:
    return len(file_cache._list_cache_files())


def test_it_stores_and_reads_values_like_djangos_file_cache(file_cache):
    file_cache.set("throttle", [1.5, 2.5], 60)

    assert file_cache.get("throttle") == [1.5, 2.5]
    assert file_cache.get("missing", []) == []


def test_it_does_not_list_the_directory_on_every_write(file_cache, monkeypatch):
    listings = []
    original = FileCache._list_cache_files
    monkeypatch.setattr(FileCache, "_list_cache_files", lambda self: listings.append(1) or original(self))

    for n in range(20):
        file_cache.set(f"key-{n}", n, 60)

    assert len(listings) == 1  # the first write checks; the next ones within the interval don't


def test_it_trims_the_directory_at_the_next_check(file_cache, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(cache_module.time, "monotonic", lambda: clock[0])
    for n in range(30):
        file_cache.set(f"key-{n}", n, 60)
    assert entries(file_cache) == 30  # past MAX_ENTRIES until the next check

    clock[0] += cache_module.FILE_CULL_INTERVAL_SECONDS
    file_cache.set("one-more", 1, 60)

    assert entries(file_cache) <= 16  # culled by CULL_FREQUENCY (half), then the new entry
