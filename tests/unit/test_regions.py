import pytest

from code_deploy.regions import RegionalBuckets


def test_bucket_names_follow_the_template_pattern_and_map_back():
    buckets = RegionalBuckets.parse("region-a, region-b,region-c", "stack-{region}-builds-1-us-east-1")
    assert buckets.regions == ("region-a", "region-b", "region-c")
    assert buckets.bucket_names == [f"stack-region-{x}-builds-1-us-east-1" for x in "abc"]
    assert buckets.region_of("stack-region-b-builds-1-us-east-1") == "region-b"


def test_an_unknown_bucket_is_an_error():
    buckets = RegionalBuckets.parse("region-a", "stack-{region}-builds")
    with pytest.raises(KeyError, match="belongs to none"):
        buckets.region_of("stack-global-builds")


@pytest.mark.parametrize(
    "regions,pattern", [("", "x-{region}"), ("Region_A", "x-{region}"), ("region-a", "no-placeholder")]
)
def test_bad_configuration_is_refused(regions, pattern):
    with pytest.raises(ValueError):
        RegionalBuckets.parse(regions, pattern)
