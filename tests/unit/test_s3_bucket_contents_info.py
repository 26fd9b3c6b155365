"""s3_bucket_contents_info's counting, page by page, as a plain function (the module itself runs
against the emulator in tests/integration/test_teardown_states.py)."""

from __future__ import annotations

from modules import load_module


def test_counts_across_pages():
    mod = load_module("s3_bucket_contents_info")
    totals = mod.empty_totals()
    pages = [
        {
            "Versions": [
                {"Key": "notebooks/a.ipynb", "IsLatest": True, "Size": 10},
                {"Key": "notebooks/a.ipynb", "IsLatest": False, "Size": 8},
            ],
            "DeleteMarkers": [{"Key": "published/b.ipynb"}],
        },
        {"Versions": [{"Key": "published/b.ipynb", "IsLatest": False, "Size": 3}]},
        {},
    ]
    for page in pages:
        mod.count_page(page, totals, sample_size=10)
    assert totals == {
        "exists": True,
        "current_objects": 1,
        "versions": 3,
        "noncurrent_versions": 2,
        "delete_markers": 1,
        "bytes": 21,
        "sample_keys": ["notebooks/a.ipynb", "published/b.ipynb"],
        "list_calls": 3,
    }


def test_sample_is_capped():
    mod = load_module("s3_bucket_contents_info")
    totals = mod.empty_totals()
    page = {"Versions": [{"Key": f"k{i}", "IsLatest": True, "Size": 1} for i in range(50)]}
    mod.count_page(page, totals, sample_size=5)
    assert totals["sample_keys"] == ["k0", "k1", "k2", "k3", "k4"] and totals["versions"] == 50
